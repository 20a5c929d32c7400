namespace SensorPipeline.Domain.Storage;

/// <summary>
/// A sensor's raw and calibrated values on one time axis, ready for a chart: <see cref="Times"/>
/// (Unix seconds) and value arrays of the same length. With <see cref="SeriesSource.Points"/>
/// each entry is one reading (min/max arrays are null); otherwise each is a bucket of
/// <see cref="BucketSeconds"/> with its average, minimum and maximum. A missing value is null.
/// </summary>
public sealed record SensorSeries(
    SeriesSource Source,
    double BucketSeconds,
    long Readings,
    IReadOnlyList<double> Times,
    IReadOnlyList<double?> Raw,
    IReadOnlyList<double?>? RawMin,
    IReadOnlyList<double?>? RawMax,
    IReadOnlyList<double?> Calibrated,
    IReadOnlyList<double?>? CalibratedMin,
    IReadOnlyList<double?>? CalibratedMax);
