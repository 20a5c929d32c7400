namespace SensorPipeline.Domain.Storage;

/// <summary>How many stored refusals have this reason.</summary>
public sealed record ReasonCount(string Reason, long Count);
