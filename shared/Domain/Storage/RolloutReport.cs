namespace SensorPipeline.Domain.Storage;

/// <summary>The rollout views at once (<c>GET /api/formats</c>).</summary>
public sealed record RolloutReport(IReadOnlyList<FormatDay> Daily, IReadOnlyList<DeviceFormats> MultiFormat, IReadOnlyList<RefusalChange> RefusalsRose);
