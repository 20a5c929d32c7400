namespace SensorPipeline.Domain.Storage;

/// <summary>One rollup bucket of calibrated values.</summary>
public sealed record RollupRow(DateTimeOffset Bucket, long Readings, double Min, double Max, double Avg);
