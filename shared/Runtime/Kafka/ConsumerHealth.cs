using System.Diagnostics.Metrics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>
/// Progress, not presence, is health: the one record of every Kafka-triggered function's state, fed
/// by its consume loops (subscribe, assignment, batches, client errors) and by
/// <see cref="ConsumerHealthMonitor"/> (the group's lag and committed offsets, as KEDA sees them).
/// A function is stalled when its group has lag and nothing advanced for
/// <see cref="ConsumerHealthOptions.StallTimeout"/>, or when it runs here and certainly cannot join
/// its group (the cluster does not support the configured group protocol). Idle (lag 0) is healthy.
/// A stalled function that runs here is logged as an error once a minute until it recovers.
/// Readiness, <c>/api/status</c> and the <c>functions.kafka.*</c> gauges read this.
/// </summary>
public sealed partial class ConsumerHealth : IDisposable
{
    private static readonly TimeSpan LogEvery = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly string _protocol;
    private readonly ILogger<ConsumerHealth> _logger;
    private readonly Meter _meter;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, State> _functions = new(StringComparer.OrdinalIgnoreCase);
    private KafkaApiVersionsProbe.Answer? _probe;

    public ConsumerHealth(
        TimeProvider time,
        IOptions<ConsumerHealthOptions> options,
        IOptions<KafkaConnectionOptions> connection,
        IMeterFactory meters,
        ILogger<ConsumerHealth> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(meters);
        _time = time;
        _timeout = options.Value.StallTimeout;
        _protocol = connection.Value.GroupProtocol;
        _logger = logger;
        _meter = meters.Create(RuntimeTelemetry.MeterName);
        _meter.CreateObservableGauge("functions.kafka.stalled", () => Measure(s => s.Stalled ? 1 : 0), unit: "{function}",
            description: "1 while a Kafka-triggered function is stalled (lag with no progress for KafkaStallTimeout, or it cannot join its group).");
        _meter.CreateObservableGauge("functions.kafka.partitions.assigned", () => Measure(s => s.PartitionsAssigned ?? 0), unit: "{partition}",
            description: "Partitions held by the function's consumers in this process.");
        _meter.CreateObservableGauge("functions.kafka.progress.age", () => MeasureAge(), unit: "s",
            description: "Seconds since the function's group last made progress (an offset committed or a batch finished).");
    }

    /// <summary>The stall timeout in force (KafkaStallTimeout).</summary>
    public TimeSpan StallTimeout => _timeout;

    /// <summary>Every Kafka-triggered function known so far, stalled ones first.</summary>
    public IReadOnlyList<ConsumerHealthState> Current()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            foreach (var state in _functions.Values)
            {
                Evaluate(state, now);
            }

            return _functions.Values.Where(s => s.Group is not null).Select(s => s.ToRecord(now)).OrderByDescending(s => s.Stalled).ThenBy(s => s.Function, StringComparer.Ordinal).ToList();
        }
    }

    internal void OnSubscribed(string function, int instance, string topic, string group)
    {
        lock (_gate)
        {
            var state = Get(function);
            state.RunsHere = true;
            state.Topic = topic;
            state.Group = group;
            state.Partitions[instance] = [];
            state.SubscribedAt ??= _time.GetUtcNow();
        }
    }

    internal void OnAssigned(string function, int instance, IEnumerable<TopicPartition> partitions)
    {
        lock (_gate)
        {
            var state = Get(function);
            var held = state.Partitions.TryGetValue(instance, out var set) ? set : state.Partitions[instance] = [];
            held.UnionWith(partitions.Select(p => p.Partition.Value));
            state.EverAssigned = true;
        }
    }

    internal void OnRevoked(string function, int instance, IEnumerable<TopicPartition> partitions)
    {
        lock (_gate)
        {
            if (Get(function).Partitions.TryGetValue(instance, out var held))
            {
                held.ExceptWith(partitions.Select(p => p.Partition.Value));
            }
        }
    }

    internal void OnStopped(string function, int instance)
    {
        lock (_gate)
        {
            Get(function).Partitions.Remove(instance);
        }
    }

    /// <summary>A batch finished (processed or dead-lettered) and its offsets were stored.</summary>
    internal void OnProgress(string function)
    {
        lock (_gate)
        {
            var state = Get(function);
            state.LastBatchAt = state.LastProgressAt = _time.GetUtcNow();
        }
    }

    /// <summary>
    /// The function gives way on purpose (host.json throttle: a function it yields to has lag): not
    /// a stall of its own; the function it waits for is judged by its own progress.
    /// </summary>
    internal void OnYielding(string function)
    {
        lock (_gate)
        {
            Get(function).LastYieldAt = _time.GetUtcNow();
        }
    }

    /// <summary>Why the function is not moving, as the loop last saw it (e.g. the database is down).</summary>
    internal void OnFailure(string function, string reason)
    {
        lock (_gate)
        {
            var state = Get(function);
            state.LastError = reason;
        }
    }

    /// <summary>
    /// An error from the consumer's client. One that says the cluster does not support the group
    /// protocol (UnsupportedVersion, Local_UnsupportedFeature) or refuses the group is logged at once,
    /// naming the function, the group and the setting to change.
    /// </summary>
    internal void OnClientError(string function, string group, Error error)
    {
        var refused = error.Code is ErrorCode.UnsupportedVersion or ErrorCode.Local_UnsupportedFeature or ErrorCode.GroupAuthorizationFailed
            or ErrorCode.InconsistentGroupProtocol or ErrorCode.UnsupportedAssignor or ErrorCode.Local_Fatal;
        bool log;
        lock (_gate)
        {
            var state = Get(function);
            state.LastError = $"{error.Code}: {error.Reason}";
            state.Group ??= group;
            var now = _time.GetUtcNow();
            log = refused && (state.LastRefusalLoggedAt is null || now - state.LastRefusalLoggedAt >= LogEvery);
            if (log)
            {
                state.LastRefusalLoggedAt = now;
            }
        }

        if (log)
        {
            LogGroupRefused(_logger, function, group, _protocol, Alternative(_protocol), error.Code, error.Reason);
        }
    }

    /// <summary>What the broker said it supports (the start-up check, or a later probe).</summary>
    public void SetProbe(KafkaApiVersionsProbe.Answer answer)
    {
        lock (_gate)
        {
            _probe = answer;
        }
    }

    /// <summary>Whether some function running here has held no partition for longer than the stall timeout.</summary>
    public bool AnyUnassignedTooLong()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            return _functions.Values.Any(s => s.RunsHere && s.PartitionsHeld == 0 && s.SubscribedAt is { } at && now - at > _timeout);
        }
    }

    /// <summary>
    /// Takes in the cluster's view (lag and committed offsets per function) and re-evaluates every
    /// function: a committed offset that advanced is progress; lag that stays above zero with no
    /// progress for the stall timeout is a stall.
    /// </summary>
    public void Observe(IReadOnlyList<ConsumerLag> lags)
    {
        ArgumentNullException.ThrowIfNull(lags);
        var logs = new List<Action>();
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            foreach (var lag in lags)
            {
                var state = Get(lag.Function);
                state.Group = lag.Group;
                state.Topic = lag.Topic;
                var committed = lag.Partitions.Sum(p => p.Committed ?? 0);
                if (state.Committed is { } before && committed > before)
                {
                    state.LastProgressAt = now;
                }

                state.Committed = committed;
                state.Lag = lag.Lag;
                state.BehindSince = lag.Lag > 0 ? state.BehindSince ?? now : null;
                Evaluate(state, now);
                if (state.Stalled && state.RunsHere && (state.LastStallLoggedAt is null || now - state.LastStallLoggedAt >= LogEvery))
                {
                    state.LastStallLoggedAt = now;
                    var (function, group, reason) = (state.Function, state.Group, state.Reason!);
                    logs.Add(() => LogStalled(_logger, function, group, reason));
                }
                else if (!state.Stalled && state.LastStallLoggedAt is not null)
                {
                    state.LastStallLoggedAt = null;
                    var (function, group, lagNow) = (state.Function, state.Group, state.Lag ?? 0);
                    logs.Add(() => LogRecovered(_logger, function, group, lagNow));
                }
            }
        }

        foreach (var log in logs)
        {
            log();
        }
    }

    private void Evaluate(State state, DateTimeOffset now)
    {
        var clock = Max(Max(state.LastProgressAt, state.BehindSince), state.LastYieldAt);
        var behindFor = state.Lag > 0 && clock is { } since ? now - since : TimeSpan.Zero;
        var unassignedFor = state.RunsHere && state.PartitionsHeld == 0 && state.SubscribedAt is { } subscribed ? now - subscribed : TimeSpan.Zero;
        // Certain: the consumer protocol against a cluster whose ApiVersions lists no ConsumerGroupHeartbeat.
        var cannotJoin = state.RunsHere && !state.EverAssigned && _protocol == "consumer" && _probe?.Supports(KafkaApiVersionsProbe.ConsumerGroupHeartbeatKey) == false;
        state.StalledFor = behindFor > unassignedFor || !cannotJoin ? behindFor : unassignedFor;
        state.Stalled = behindFor > _timeout || cannotJoin;
        if (!state.Stalled)
        {
            state.Reason = null;
            return;
        }

        var reason = new System.Text.StringBuilder();
        reason.Append(System.Globalization.CultureInfo.InvariantCulture,
            $"lag {state.Lag ?? 0} on {state.Topic} with no progress for {state.StalledFor.TotalSeconds:0} s (KafkaStallTimeout {_timeout.TotalSeconds:0} s)");
        if (state.RunsHere)
        {
            reason.Append(System.Globalization.CultureInfo.InvariantCulture, $"; {state.PartitionsHeld} partition(s) assigned here");
            if (state.PartitionsHeld == 0 && !state.EverAssigned)
            {
                reason.Append(System.Globalization.CultureInfo.InvariantCulture,
                    $"; never assigned a partition by group {state.Group} with KafkaGroupProtocol={_protocol}");
                if (cannotJoin)
                {
                    reason.Append(System.Globalization.CultureInfo.InvariantCulture,
                        $"; the cluster's answer: broker {_probe!.Broker} lists no ConsumerGroupHeartbeat (API 68) in ApiVersions, so it does not support the consumer group protocol (Kafka before 4.0, or the protocol is disabled): set KafkaGroupProtocol=classic");
                }
                else
                {
                    reason.Append(System.Globalization.CultureInfo.InvariantCulture,
                        $"; if the cluster does not support that group protocol, set KafkaGroupProtocol={Alternative(_protocol)}");
                }
            }
        }

        if (state.LastError is not null)
        {
            reason.Append("; last error: ").Append(state.LastError);
        }

        state.Reason = reason.ToString();
    }

    private static string Alternative(string protocol) => protocol == "consumer" ? "classic" : "consumer";

    private static DateTimeOffset? Max(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;

    private State Get(string function)
    {
        if (!_functions.TryGetValue(function, out var state))
        {
            _functions[function] = state = new State(function);
        }

        return state;
    }

    private List<Measurement<int>> Measure(Func<ConsumerHealthState, int> value) =>
        Current().Select(s => new Measurement<int>(value(s), new KeyValuePair<string, object?>("faas.name", s.Function))).ToList();

    private List<Measurement<double>> MeasureAge()
    {
        var now = _time.GetUtcNow();
        return Current().Where(s => s.LastProgressAt is not null).Select(s => new Measurement<double>(
            (now - s.LastProgressAt!.Value).TotalSeconds, new KeyValuePair<string, object?>("faas.name", s.Function))).ToList();
    }

    public void Dispose() => _meter.Dispose();

    private sealed class State(string function)
    {
        public string Function { get; } = function;
        public string? Group { get; set; }
        public string? Topic { get; set; }
        public bool RunsHere { get; set; }
        public Dictionary<int, HashSet<int>> Partitions { get; } = [];
        public int PartitionsHeld => Partitions.Values.Sum(p => p.Count);
        public bool EverAssigned { get; set; }
        public DateTimeOffset? SubscribedAt { get; set; }
        public DateTimeOffset? LastBatchAt { get; set; }
        public DateTimeOffset? LastProgressAt { get; set; }
        public DateTimeOffset? BehindSince { get; set; }
        public DateTimeOffset? LastYieldAt { get; set; }
        public long? Lag { get; set; }
        public long? Committed { get; set; }
        public bool Stalled { get; set; }
        public TimeSpan StalledFor { get; set; }
        public string? Reason { get; set; }
        public string? LastError { get; set; }
        public DateTimeOffset? LastStallLoggedAt { get; set; }
        public DateTimeOffset? LastRefusalLoggedAt { get; set; }

        public ConsumerHealthState ToRecord(DateTimeOffset now) => new(
            Function, Group ?? "", Topic ?? "", RunsHere, RunsHere ? PartitionsHeld : null, Lag, LastBatchAt, LastProgressAt,
            Stalled, Stalled ? Math.Round(StalledFor.TotalSeconds, 1) : 0, Reason, LastError);
    }

    [LoggerMessage(EventId = 2030, Level = LogLevel.Error, Message = "{Function} (group {Group}) is stalled: {Reason}")]
    private static partial void LogStalled(ILogger logger, string function, string group, string reason);

    [LoggerMessage(EventId = 2031, Level = LogLevel.Information, Message = "{Function} (group {Group}) is moving again; lag {Lag}")]
    private static partial void LogRecovered(ILogger logger, string function, string group, long lag);

    [LoggerMessage(EventId = 2032, Level = LogLevel.Error, Message = "{Function}: the cluster refused group {Group} with KafkaGroupProtocol={Protocol} ({Code}: {Reason}); if it does not support that group protocol, set KafkaGroupProtocol={Alternative}")]
    private static partial void LogGroupRefused(ILogger logger, string function, string group, string protocol, string alternative, ErrorCode code, string reason);
}
