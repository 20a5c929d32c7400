namespace SensorPipeline.Domain.Storage;

/// <summary>One device in the dashboard's list: when it last reported, its credential state and how many sensors it has.</summary>
public sealed record ConsoleDeviceRow(
    string DeviceId,
    string? DisplayName,
    string? Firmware,
    string CredentialState,
    DateTimeOffset? LastSeenAt,
    int Sensors);
