using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace SensorPipeline.Functions.Health;

/// <summary>Ready when the database answers and the schema is migrated.</summary>
public sealed class DatabaseHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = dataSource.CreateCommand("select count(*) from schema_migrations");
            var applied = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
            return applied > 0 ? HealthCheckResult.Healthy($"{applied} migration(s) applied") : HealthCheckResult.Unhealthy("No migration applied.");
        }
        catch (NpgsqlException e)
        {
            return HealthCheckResult.Unhealthy("Database unreachable or not migrated: " + e.Message);
        }
    }
}
