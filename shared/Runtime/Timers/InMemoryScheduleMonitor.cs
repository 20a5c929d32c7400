namespace SensorPipeline.Runtime.Timers;

/// <summary>Schedule status in memory: correct for a single instance only.</summary>
public sealed class InMemoryScheduleMonitor : IScheduleMonitor
{
    private readonly Dictionary<string, DateTimeOffset> _last = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public Task<DateTimeOffset?> GetLastAsync(string timer, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult<DateTimeOffset?>(_last.TryGetValue(timer, out var last) ? last : null);
        }
    }

    public Task<bool> TryClaimAsync(string timer, DateTimeOffset occurrence, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_last.TryGetValue(timer, out var last) && last >= occurrence)
            {
                return Task.FromResult(false);
            }

            _last[timer] = occurrence;
            return Task.FromResult(true);
        }
    }
}
