namespace SensorPipeline.Domain.Storage;

/// <summary>A refused payload as stored, for replay: whole only when <c>Content.Length == SizeBytes</c>.</summary>
public sealed record StoredPayload(long ErrorId, Guid PayloadId, string Door, string? DeviceId, string? Source, string? Format, int SizeBytes, byte[]? Content)
{
    public bool IsWhole => Content is not null && Content.Length == SizeBytes;
}
