using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SensorPipeline.Runtime.Kafka;
using SensorPipeline.Runtime.Timers;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Unit;

/// <summary>The stall rule on a hand-moved clock: lag with no progress for the timeout is a stall; idle is not.</summary>
public sealed class ConsumerHealthTests : IDisposable
{
    private readonly ManualTime _time = new(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly TestLogs _logs = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly ILoggerFactory _loggers;

    public ConsumerHealthTests() => _loggers = LoggerFactory.Create(b => b.AddProvider(_logs));

    private ConsumerHealth NewHealth(string protocol = "classic") => new(
        _time,
        Options.Create(new ConsumerHealthOptions { StallTimeout = TimeSpan.FromSeconds(60) }),
        Options.Create(new KafkaConnectionOptions { BrokerList = "127.0.0.1:1", GroupProtocol = protocol }),
        _services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
        _loggers.CreateLogger<ConsumerHealth>());

    private static ConsumerLag Lag(long lag, long committed) =>
        new("Persist", "persist-raw", "raw", true, lag, [PartitionLag.Of(0, 0, committed + lag, committed)]);

    [Fact]
    public void Idle_consumer_is_healthy_however_long_nothing_happens()
    {
        using var health = NewHealth();
        health.OnSubscribed("Persist", 0, "raw", "persist-raw");
        health.OnAssigned("Persist", 0, [new TopicPartition("raw", 0)]);
        for (var i = 0; i < 10; i++)
        {
            health.Observe([Lag(0, 100)]);
            _time.Advance(TimeSpan.FromMinutes(1));
        }

        var state = Assert.Single(health.Current());
        Assert.False(state.Stalled);
        Assert.Equal(1, state.PartitionsAssigned);
        Assert.Empty(_logs.At(LogLevel.Warning));
    }

    [Fact]
    public void Lag_without_progress_stalls_after_the_timeout_and_recovers_when_offsets_move()
    {
        using var health = NewHealth();
        health.OnSubscribed("Persist", 0, "raw", "persist-raw");
        health.OnAssigned("Persist", 0, [new TopicPartition("raw", 0)]);
        health.Observe([Lag(0, 100)]);
        // Idle for an hour, then messages arrive: the clock starts when the lag appears.
        _time.Advance(TimeSpan.FromHours(1));
        health.Observe([Lag(50, 100)]);
        Assert.False(health.Current()[0].Stalled);
        health.OnFailure("Persist", "dependency unavailable: database down");
        _time.Advance(TimeSpan.FromSeconds(61));
        health.Observe([Lag(80, 100)]);

        var stalled = Assert.Single(health.Current());
        Assert.True(stalled.Stalled);
        Assert.Contains("lag 80", stalled.Reason, StringComparison.Ordinal);
        Assert.Contains("database down", stalled.Reason, StringComparison.Ordinal);
        var line = Assert.Single(_logs.At(LogLevel.Error));
        Assert.Contains("Persist (group persist-raw) is stalled", line, StringComparison.Ordinal);

        // Still stalled a little later: not logged again within the minute.
        _time.Advance(TimeSpan.FromSeconds(10));
        health.Observe([Lag(80, 100)]);
        Assert.Single(_logs.At(LogLevel.Error));

        _time.Advance(TimeSpan.FromSeconds(10));
        health.Observe([Lag(10, 170)]);
        Assert.False(health.Current()[0].Stalled);
        Assert.Contains(_logs.At(LogLevel.Information), l => l.Contains("moving again", StringComparison.Ordinal));
    }

    [Fact]
    public void Consumer_that_gives_way_on_purpose_is_not_stalled()
    {
        using var health = NewHealth();
        health.OnSubscribed("Persist", 0, "raw", "persist-raw");
        health.OnAssigned("Persist", 0, [new TopicPartition("raw", 0)]);
        health.Observe([Lag(500, 100)]);
        for (var i = 0; i < 12; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            health.OnYielding("Persist");
            health.Observe([Lag(500, 100)]);
        }

        Assert.False(Assert.Single(health.Current()).Stalled);
        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.True(Assert.Single(health.Current()).Stalled);
    }

    [Fact]
    public void Consumer_that_never_gets_a_partition_names_the_group_protocol_setting()
    {
        using var health = NewHealth("consumer");
        health.OnSubscribed("Persist", 0, "raw", "persist-raw");
        health.Observe([Lag(5, 0)]);
        _time.Advance(TimeSpan.FromSeconds(90));
        health.Observe([Lag(5, 0)]);

        var state = Assert.Single(health.Current());
        Assert.True(state.Stalled);
        Assert.Equal(0, state.PartitionsAssigned);
        Assert.Contains("never assigned a partition by group persist-raw with KafkaGroupProtocol=consumer", state.Reason, StringComparison.Ordinal);
        Assert.Contains("set KafkaGroupProtocol=classic", state.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Refusal_by_the_cluster_is_logged_at_once_with_the_setting_to_change()
    {
        using var health = NewHealth("consumer");
        health.OnClientError("Persist", "persist-raw", new Error(ErrorCode.UnsupportedVersion, "ConsumerGroupHeartbeat not supported"));
        health.OnClientError("Persist", "persist-raw", new Error(ErrorCode.UnsupportedVersion, "ConsumerGroupHeartbeat not supported"));

        var line = Assert.Single(_logs.At(LogLevel.Error));
        Assert.Contains("group persist-raw with KafkaGroupProtocol=consumer (UnsupportedVersion: ConsumerGroupHeartbeat not supported)", line, StringComparison.Ordinal);
        Assert.Contains("set KafkaGroupProtocol=classic", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Timer_that_missed_two_occurrences_is_stalled_until_it_runs()
    {
        using var timers = new TimerHealth(_time, _services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), _loggers.CreateLogger<TimerHealth>());
        var schedule = TimerSchedule.Parse("0 */1 * * * *", "test");
        timers.OnScheduled("Reconcile", schedule);
        _time.Advance(TimeSpan.FromSeconds(90));
        timers.OnRan("Reconcile", _time.GetUtcNow(), "NpgsqlException: database down");
        Assert.False(Assert.Single(timers.Current()).Stalled);

        _time.Advance(TimeSpan.FromSeconds(60));
        var stalled = Assert.Single(timers.Current());
        Assert.True(stalled.Stalled);
        Assert.Contains("database down", stalled.Reason, StringComparison.Ordinal);

        timers.OnRan("Reconcile", _time.GetUtcNow(), error: null);
        Assert.False(Assert.Single(timers.Current()).Stalled);
    }

    public void Dispose()
    {
        _loggers.Dispose();
        _services.Dispose();
    }
}
