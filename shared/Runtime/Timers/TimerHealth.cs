using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace SensorPipeline.Runtime.Timers;

/// <summary>
/// Every silent wait has a clock: a timer function running here is stalled when no occurrence of its
/// schedule completed (here, or claimed by another replica) for two of its intervals, or when one
/// run has been going for longer than the function timeout plus two intervals. A failing run does
/// not count as run. Fed by <see cref="TimerTriggersService"/>; read by readiness and status.
/// </summary>
public sealed partial class TimerHealth : IDisposable
{
    private static readonly TimeSpan LogEvery = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time;
    private readonly ILogger<TimerHealth> _logger;
    private readonly Meter _meter;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, State> _timers = new(StringComparer.OrdinalIgnoreCase);

    public TimerHealth(TimeProvider time, IMeterFactory meters, ILogger<TimerHealth> logger)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _time = time;
        _logger = logger;
        _meter = meters.Create(RuntimeTelemetry.MeterName);
        _meter.CreateObservableGauge("functions.timer.stalled", () => Current().Select(s =>
            new Measurement<int>(s.Stalled ? 1 : 0, new KeyValuePair<string, object?>("faas.name", s.Function))).ToList(),
            unit: "{function}", description: "1 while a timer function's schedule has not run for two intervals.");
    }

    /// <summary>How long one run may take before it counts as hung (host.json functionTimeout).</summary>
    public TimeSpan FunctionTimeout { get; set; } = TimeSpan.FromMinutes(5);

    public IReadOnlyList<TimerHealthState> Current()
    {
        var logs = new List<Action>();
        List<TimerHealthState> states;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            states = _timers.Values.Select(s => Evaluate(s, now, logs)).OrderBy(s => s.Function, StringComparer.Ordinal).ToList();
        }

        foreach (var log in logs)
        {
            log();
        }

        return states;
    }

    internal void OnScheduled(string function, TimerSchedule schedule)
    {
        lock (_gate)
        {
            _timers[function] = new State(function, schedule, _time.GetUtcNow());
        }
    }

    internal void OnStarted(string function)
    {
        lock (_gate)
        {
            if (_timers.TryGetValue(function, out var state))
            {
                state.Running = _time.GetUtcNow();
            }
        }
    }

    /// <summary>An occurrence finished here (<paramref name="error"/> null when it succeeded), or was claimed by another replica.</summary>
    internal void OnRan(string function, DateTimeOffset occurrence, string? error)
    {
        lock (_gate)
        {
            if (!_timers.TryGetValue(function, out var state))
            {
                return;
            }

            var now = _time.GetUtcNow();
            state.Running = null;
            state.LastRun = now;
            if (error is null)
            {
                state.LastSuccess = occurrence > now ? now : occurrence;
            }
            else
            {
                state.LastError = error;
            }
        }
    }

    /// <summary>Why the timer cannot run now (e.g. its schedule monitor, the database, is down).</summary>
    internal void OnFailure(string function, string error)
    {
        lock (_gate)
        {
            if (_timers.TryGetValue(function, out var state))
            {
                state.LastError = error;
            }
        }
    }

    private TimerHealthState Evaluate(State s, DateTimeOffset now, List<Action> logs)
    {
        var since = s.LastSuccess ?? s.ScheduledAt;
        var first = s.Schedule.Next(since);
        var due = s.Schedule.Next(first);
        var interval = first - since;
        string? reason = null;
        if (s.Running is { } started && now - started > FunctionTimeout + (interval * 2))
        {
            reason = $"a run has been going for {(now - started).TotalSeconds:0} s, longer than the function timeout and two intervals";
        }
        else if (s.Running is null && now > due)
        {
            reason = s.LastSuccess is null
                ? $"no run of '{s.Schedule.Expression}' completed since {since:O} (two occurrences due by {due:O})"
                : $"last successful run {since:O}; two occurrences of '{s.Schedule.Expression}' were due by {due:O}";
            if (s.LastError is not null)
            {
                reason += "; last error: " + s.LastError;
            }
        }

        var stalled = reason is not null;
        if (stalled && (s.LoggedAt is null || now - s.LoggedAt >= LogEvery))
        {
            s.LoggedAt = now;
            var (function, text) = (s.Function, reason!);
            logs.Add(() => LogStalled(_logger, function, text));
        }
        else if (!stalled && s.LoggedAt is not null)
        {
            s.LoggedAt = null;
            var function = s.Function;
            logs.Add(() => LogRecovered(_logger, function));
        }

        return new TimerHealthState(s.Function, s.Schedule.Expression, s.LastRun, s.LastSuccess, s.Running, due, stalled, reason, s.LastError);
    }

    public void Dispose() => _meter.Dispose();

    private sealed class State(string function, TimerSchedule schedule, DateTimeOffset scheduledAt)
    {
        public string Function { get; } = function;
        public TimerSchedule Schedule { get; } = schedule;
        public DateTimeOffset ScheduledAt { get; } = scheduledAt;
        public DateTimeOffset? LastRun { get; set; }
        public DateTimeOffset? LastSuccess { get; set; }
        public DateTimeOffset? Running { get; set; }
        public string? LastError { get; set; }
        public DateTimeOffset? LoggedAt { get; set; }
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Error, Message = "Timer {Function} is stalled: {Reason}")]
    private static partial void LogStalled(ILogger logger, string function, string reason);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Timer {Function} runs on schedule again")]
    private static partial void LogRecovered(ILogger logger, string function);
}
