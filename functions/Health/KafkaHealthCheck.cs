using Microsoft.Extensions.Diagnostics.HealthChecks;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Functions.Health;

/// <summary>
/// Ready when a Kafka broker answers a metadata request within a short timeout. The answer is
/// kept for a few seconds, so frequent probes cost the cluster nothing.
/// </summary>
public sealed class KafkaHealthCheck(KafkaLagReader kafka, TimeProvider time) : IHealthCheck
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (DateTimeOffset At, HealthCheckResult Result)? _last;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (_last is { } fresh && time.GetUtcNow() - fresh.At < CacheFor)
        {
            return fresh.Result;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_last is { } cached && time.GetUtcNow() - cached.At < CacheFor)
            {
                return cached.Result;
            }

            HealthCheckResult result;
            try
            {
                var brokers = await kafka.PingAsync(Timeout, cancellationToken);
                result = brokers > 0
                    ? HealthCheckResult.Healthy($"{brokers} broker(s) answered")
                    : HealthCheckResult.Unhealthy("The cluster reported no brokers.");
            }
            catch (Confluent.Kafka.KafkaException e)
            {
                result = HealthCheckResult.Unhealthy("Kafka unreachable: " + e.Error.Reason);
            }

            _last = (time.GetUtcNow(), result);
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }
}
