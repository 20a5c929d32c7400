namespace SensorPipeline.Domain.Storage;

/// <summary>One row of the <c>format_daily</c> view: per format and UTC day, the devices that sent it, payloads and readings.</summary>
public sealed record FormatDay(string Format, DateTimeOffset Day, long Devices, long Payloads, long Readings);
