using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace SensorPipeline.Functions.Devices;

/// <summary>
/// Startup events (<c>POST /api/devices/startup</c>, anonymous to the host) per source address: a
/// token bucket of <c>DeviceStartupRateLimit</c> events, refilled one at a time over a minute, in
/// this process. Checked before the signature and the database, so a flood costs neither.
/// </summary>
public sealed class StartupRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<IPAddress>? _limiter;

    public StartupRateLimiter(IOptions<DeviceOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var perMinute = options.Value.DeviceStartupRateLimit;
        _limiter = perMinute <= 0 ? null : PartitionedRateLimiter.Create<IPAddress, IPAddress>(address => RateLimitPartition.GetTokenBucketLimiter(address, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = perMinute,
            TokensPerPeriod = 1,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1.0 / perMinute),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    /// <summary>Null when the event may go on, else how long the source should wait.</summary>
    public TimeSpan? TryAcquire(IPAddress? source)
    {
        if (_limiter is null)
        {
            return null;
        }

        using var lease = _limiter.AttemptAcquire(source ?? IPAddress.None);
        return lease.IsAcquired ? null : lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromMinutes(1);
    }

    public void Dispose() => _limiter?.Dispose();
}
