namespace SensorPipeline.Runtime.Timers;

/// <summary>
/// Where timer schedule status lives, shared by all replicas: an occurrence is claimed by exactly
/// one of them, so a timer runs once per schedule across the deployment.
/// </summary>
public interface IScheduleMonitor
{
    /// <summary>The last occurrence any replica claimed, or null if the timer never ran.</summary>
    Task<DateTimeOffset?> GetLastAsync(string timer, CancellationToken cancellationToken);

    /// <summary>Claims an occurrence; true for exactly one caller per timer and occurrence.</summary>
    Task<bool> TryClaimAsync(string timer, DateTimeOffset occurrence, CancellationToken cancellationToken);
}
