namespace SensorPipeline.Runtime.Timers;

/// <summary>One timer function as this process sees it; stalled when its schedule has not run for two intervals.</summary>
public sealed record TimerHealthState(
    string Function,
    string Schedule,
    DateTimeOffset? LastRun,
    DateTimeOffset? LastSuccess,
    DateTimeOffset? Running,
    DateTimeOffset Due,
    bool Stalled,
    string? Reason,
    string? LastError);
