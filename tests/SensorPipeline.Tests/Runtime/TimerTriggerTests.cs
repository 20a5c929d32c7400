using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using SensorPipeline.Runtime.Hosting;
using SensorPipeline.Runtime.Timers;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Runtime;

public sealed class TimerProbe
{
    public static readonly System.Collections.Concurrent.ConcurrentQueue<(string Run, TimerInfo Info)> Runs = new();

    [Function("ProbeTimer")]
    public void Run([TimerTrigger("%ProbeSchedule%")] TimerInfo timer, IConfiguration configuration) =>
        Runs.Enqueue((configuration["ProbeRun"]!, timer));
}

/// <summary>Timers run once per schedule across instances, through the PostgreSQL schedule monitor.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class TimerTriggerTests(TestServers servers, AzuriteServer azurite) : IClassFixture<AzuriteServer>
{
    private static async Task<IHost> StartAsync(string connectionString, string run, string schedule, string? blobStorage = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = Environments.Development, DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["KafkaBrokerList"] = "127.0.0.1:1",
            ["ProbeSchedule"] = schedule,
            ["ProbeRun"] = run,
            ["AzureFunctionsJobHost:functions:0"] = "ProbeTimer",
        });
        builder.Services.AddSingleton(NpgsqlDataSource.Create(connectionString));
        if (blobStorage is null)
        {
            builder.Services.AddSingleton<IScheduleMonitor>(sp => new PostgresScheduleMonitor(sp.GetRequiredService<NpgsqlDataSource>()));
        }
        else
        {
            builder.Services.AddSingleton<IScheduleMonitor>(_ => new BlobScheduleMonitor(new Azure.Storage.Blobs.BlobServiceClient(blobStorage), "test-" + run));
        }
        builder.AddFunctionsRuntime(typeof(TimerProbe).Assembly);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static List<TimerInfo> RunsOf(string run) => TimerProbe.Runs.Where(r => r.Run == run).Select(r => r.Info).ToList();

    [Theory]
    [InlineData("database")]
    [InlineData("blob")]
    public async Task Two_instances_run_each_occurrence_once(string lease)
    {
        var db = await servers.CreateDatabaseAsync("timer");
        var run = Guid.NewGuid().ToString("N");
        var blob = lease == "blob" ? azurite.ConnectionString : null;
        using var a = await StartAsync(db, run, "*/1 * * * * *", blob);
        using var b = await StartAsync(db, run, "*/1 * * * * *", blob);
        // Two instances, one schedule: wait for a few occurrences (however slow the machine), then
        // no more runs than occurrences have passed, and never one occurrence twice.
        var started = System.Diagnostics.Stopwatch.StartNew();
        await Eventually.WaitForAsync(() => Task.FromResult(RunsOf(run).Count), n => n >= 3, TimeSpan.FromSeconds(60), "three occurrences");
        await Task.WhenAll(a.StopAsync(), b.StopAsync());
        var occurrences = (int)Math.Ceiling(started.Elapsed.TotalSeconds) + 1;

        var runs = RunsOf(run);
        Assert.InRange(runs.Count, 3, occurrences);
        Assert.Equal(runs.Count, runs.Select(r => r.ScheduleStatus!.LastUpdated).Distinct().Count());
    }

    [Theory]
    [InlineData("database")]
    [InlineData("blob")]
    public async Task Missed_schedule_runs_once_at_start_as_past_due(string lease)
    {
        var db = await servers.CreateDatabaseAsync("timer");
        var run = Guid.NewGuid().ToString("N");
        var blob = lease == "blob" ? azurite.ConnectionString : null;
        IScheduleMonitor monitor = blob is null
            ? new PostgresScheduleMonitor(NpgsqlDataSource.Create(db))
            : new BlobScheduleMonitor(new Azure.Storage.Blobs.BlobServiceClient(blob), "test-" + run);
        // The last run was two hours ago; an hourly schedule has missed at least one occurrence since.
        Assert.True(await monitor.TryClaimAsync("ProbeTimer", DateTimeOffset.UtcNow.AddHours(-2), CancellationToken.None));
        using var a = await StartAsync(db, run, "0 0 * * * *", blob);
        using var b = await StartAsync(db, run, "0 0 * * * *", blob);
        await Eventually.WaitForAsync(() => Task.FromResult(RunsOf(run).Count), n => n >= 1, TimeSpan.FromSeconds(10), "the past-due run");
        await Task.Delay(500);
        await Task.WhenAll(a.StopAsync(), b.StopAsync());

        var single = Assert.Single(RunsOf(run));
        Assert.True(single.IsPastDue);
        Assert.Equal(0, single.ScheduleStatus!.LastUpdated.Minute);
        Assert.Equal(0, single.ScheduleStatus!.LastUpdated.Second);
    }
}
