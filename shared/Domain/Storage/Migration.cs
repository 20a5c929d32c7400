namespace SensorPipeline.Domain.Storage;

/// <summary>One migration: its id (file name), SQL, and the TimescaleDB part if any.</summary>
public sealed record Migration(string Id, string Sql, string? TimescaleSql);
