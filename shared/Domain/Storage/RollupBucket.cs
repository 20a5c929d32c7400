namespace SensorPipeline.Domain.Storage;

/// <summary>Rollup bucket widths and the relation that holds each.</summary>
public enum RollupBucket
{
    Hour,
    Day,
}
