namespace SensorPipeline.Domain.Storage;

/// <summary>Which storage features the database has.</summary>
public enum DatabaseMode
{
    /// <summary>Plain PostgreSQL: ordinary tables, rollups by query.</summary>
    Plain,
    /// <summary>TimescaleDB: hypertables, compression, continuous aggregates.</summary>
    TimescaleDb,
}
