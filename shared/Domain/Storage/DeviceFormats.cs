namespace SensorPipeline.Domain.Storage;

/// <summary>One row of <c>device_multi_format</c>: a device seen in more than one format.</summary>
public sealed record DeviceFormats(string DeviceId, IReadOnlyList<string> Formats, string CurrentFormat, DateTimeOffset CurrentSince, bool WentBack);
