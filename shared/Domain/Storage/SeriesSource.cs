namespace SensorPipeline.Domain.Storage;

/// <summary>Where a chart series came from: raw points, buckets over the readings, or buckets over the hourly or daily rollups.</summary>
public enum SeriesSource
{
    Points,
    Readings,
    Hourly,
    Daily,
}
