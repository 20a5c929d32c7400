namespace SensorPipeline.Domain.Storage;

/// <summary>One row of <c>device_refusals_after_format_change</c> whose refusals rose: 7 days before against 7 days after.</summary>
public sealed record RefusalChange(string DeviceId, string CurrentFormat, DateTimeOffset ChangedAt, long RefusalsBefore, long RefusalsAfter);
