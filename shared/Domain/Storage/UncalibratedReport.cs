using SensorPipeline.Domain.Messages;

namespace SensorPipeline.Domain.Storage;

/// <summary>What the reconcile timer found.</summary>
public sealed record UncalibratedReport(long Total, DateTimeOffset? OldestReceivedAt, IReadOnlyList<CalibrationRequest> Page);
