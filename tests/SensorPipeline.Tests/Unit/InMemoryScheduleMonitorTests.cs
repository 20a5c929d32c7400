using SensorPipeline.Runtime.Timers;

namespace SensorPipeline.Tests.Unit;

public sealed class InMemoryScheduleMonitorTests
{
    private static readonly DateTimeOffset TenOClock = new(2026, 3, 10, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task TryClaim_claims_an_occurrence_once()
    {
        var monitor = new InMemoryScheduleMonitor();

        Assert.True(await monitor.TryClaimAsync("UnitTestTimer", TenOClock, CancellationToken.None));
        Assert.False(await monitor.TryClaimAsync("UnitTestTimer", TenOClock, CancellationToken.None));
        Assert.True(await monitor.TryClaimAsync("UnitTestTimer", TenOClock.AddMinutes(5), CancellationToken.None));
    }

    [Fact]
    public async Task TryClaim_refuses_an_older_occurrence_after_a_newer_one()
    {
        var monitor = new InMemoryScheduleMonitor();
        await monitor.TryClaimAsync("UnitTestTimer", TenOClock.AddMinutes(5), CancellationToken.None);

        Assert.False(await monitor.TryClaimAsync("UnitTestTimer", TenOClock, CancellationToken.None));
        Assert.Equal(TenOClock.AddMinutes(5), await monitor.GetLastAsync("UnitTestTimer", CancellationToken.None));
    }

    [Fact]
    public async Task TryClaim_compares_instants_not_offsets()
    {
        var monitor = new InMemoryScheduleMonitor();
        await monitor.TryClaimAsync("UnitTestTimer", TenOClock, CancellationToken.None);

        Assert.False(await monitor.TryClaimAsync("UnitTestTimer", TenOClock.ToOffset(TimeSpan.FromHours(2)), CancellationToken.None));
    }

    [Fact]
    public async Task GetLast_is_null_before_the_first_claim_and_the_last_claim_after()
    {
        var monitor = new InMemoryScheduleMonitor();

        Assert.Null(await monitor.GetLastAsync("UnitTestTimer", CancellationToken.None));

        await monitor.TryClaimAsync("UnitTestTimer", TenOClock, CancellationToken.None);
        await monitor.TryClaimAsync("UnitTestTimer", TenOClock.AddMinutes(5), CancellationToken.None);

        Assert.Equal(TenOClock.AddMinutes(5), await monitor.GetLastAsync("UnitTestTimer", CancellationToken.None));
    }

    [Fact]
    public async Task Timers_are_claimed_independently()
    {
        var monitor = new InMemoryScheduleMonitor();
        await monitor.TryClaimAsync("UnitTestA", TenOClock.AddMinutes(5), CancellationToken.None);

        Assert.True(await monitor.TryClaimAsync("UnitTestB", TenOClock, CancellationToken.None));
        Assert.Equal(TenOClock, await monitor.GetLastAsync("UnitTestB", CancellationToken.None));
        Assert.Equal(TenOClock.AddMinutes(5), await monitor.GetLastAsync("UnitTestA", CancellationToken.None));
    }

    [Fact]
    public async Task TryClaim_gives_an_occurrence_to_exactly_one_of_many_concurrent_callers()
    {
        var monitor = new InMemoryScheduleMonitor();

        var results = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ =>
            Task.Run(() => monitor.TryClaimAsync("UnitTestTimer", TenOClock, CancellationToken.None))));

        Assert.Single(results, claimed => claimed);
    }
}
