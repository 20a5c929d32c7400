namespace SensorPipeline.Domain.Storage;

/// <summary>The outcome of a migration run.</summary>
public sealed record MigrationResult(DatabaseMode Mode, string? TimescaleVersion, IReadOnlyList<string> Applied);
