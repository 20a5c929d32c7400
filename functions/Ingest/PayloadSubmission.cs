namespace SensorPipeline.Functions.Ingest;

/// <summary>
/// One payload at a door. <see cref="DeviceId"/> is the authenticated device (signed HTTP, MQTT):
/// it may write only its own sensors. <see cref="RouteDeviceId"/> is the device a frames route or
/// topic names (null on the readings doors). <see cref="Source"/> is who sent it when no device
/// did: <c>key</c> or the remote address.
/// </summary>
public sealed record PayloadSubmission(
    string Door,
    string? DeviceId,
    string? RouteDeviceId,
    string? Source,
    bool IsFrame,
    ReadOnlyMemory<byte> Body,
    string? TraceParent = null);
