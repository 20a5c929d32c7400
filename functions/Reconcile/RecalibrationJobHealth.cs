namespace SensorPipeline.Functions.Reconcile;

/// <summary>One running recalibration job: stalled when neither its published nor its calibrated count moved for the stall timeout.</summary>
public sealed record RecalibrationJobHealth(long Id, string? SensorId, long Total, long Published, long? Calibrated, DateTimeOffset LastProgressAt, bool Stalled, string? Reason);
