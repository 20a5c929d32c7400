using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SensorPipeline.Runtime.Hosting;

namespace SensorPipeline.Runtime.Timers;

/// <summary>
/// Runs every enabled timer function on its schedule, once across replicas (each occurrence is
/// claimed in the <see cref="IScheduleMonitor"/>); a schedule missed while no replica ran is run
/// once at start, marked past due.
/// </summary>
internal sealed partial class TimerTriggersService(
    FunctionCatalog catalog,
    SettingResolver settings,
    IScheduleMonitor monitor,
    FunctionInvoker invoker,
    TimeProvider time,
    ILogger<TimerTriggersService> logger,
    TimerHealth health) : BackgroundService
{
    private static readonly TimeSpan MaxDelayStep = TimeSpan.FromDays(1);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(catalog.EnabledWith<TimerTriggerAttribute>().Select(x =>
        {
            var schedule = TimerSchedule.Parse(settings.Resolve(x.Trigger.Schedule, $"function {x.Function.Name}"), $"function {x.Function.Name}");
            return RunAsync(x.Function, x.Trigger, schedule, stoppingToken);
        }).ToList());

    internal async Task RunAsync(FunctionDescriptor function, TimerTriggerAttribute trigger, TimerSchedule schedule, CancellationToken stoppingToken)
    {
        LogScheduled(logger, function.Name, schedule.Expression);
        health.OnScheduled(function.Name, schedule);
        try
        {
            var now = time.GetUtcNow();
            var last = await WithRetryAsync(() => monitor.GetLastAsync(function.Name, stoppingToken), function.Name, stoppingToken);
            var previous = schedule.Previous(now);
            if (last is not null && previous is not null && last < previous &&
                await WithRetryAsync(() => monitor.TryClaimAsync(function.Name, previous.Value, stoppingToken), function.Name, stoppingToken))
            {
                LogPastDue(logger, function.Name, previous.Value);
                await InvokeAsync(function, previous.Value, last, schedule.Next(now), pastDue: true, stoppingToken);
                last = previous;
            }
            else if (trigger.RunOnStartup)
            {
                await InvokeAsync(function, now, last, schedule.Next(now), pastDue: false, stoppingToken);
            }

            while (!stoppingToken.IsCancellationRequested)
            {
                var next = schedule.Next(time.GetUtcNow());
                // Task.Delay takes at most ~49 days: wait in steps for yearly schedules.
                for (var wait = next - time.GetUtcNow(); wait > TimeSpan.Zero; wait = next - time.GetUtcNow())
                {
                    await Task.Delay(wait < MaxDelayStep ? wait : MaxDelayStep, time, stoppingToken);
                }

                var claimed = await WithRetryAsync(() => monitor.TryClaimAsync(function.Name, next, stoppingToken), function.Name, stoppingToken);
                if (!claimed)
                {
                    LogClaimedElsewhere(logger, function.Name, next);
                    health.OnRan(function.Name, next, error: null);
                    continue;
                }

                await InvokeAsync(function, next, last, schedule.Next(next), pastDue: time.GetUtcNow() - next > TimeSpan.FromMinutes(1), stoppingToken);
                last = next;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Runs the function with the Worker's <see cref="TimerInfo"/>: its schedule status and whether it is past due.</summary>
    private async Task InvokeAsync(FunctionDescriptor function, DateTimeOffset scheduled, DateTimeOffset? last, DateTimeOffset next, bool pastDue, CancellationToken stoppingToken)
    {
        var info = new TimerInfo
        {
            IsPastDue = pastDue,
            ScheduleStatus = new ScheduleStatus { Last = (last ?? default).UtcDateTime, Next = next.UtcDateTime, LastUpdated = scheduled.UtcDateTime },
        };
        health.OnStarted(function.Name);
        try
        {
            await invoker.InvokeAsync(function, info, stoppingToken);
            health.OnRan(function.Name, scheduled, error: null);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            LogFailed(logger, e, function.Name, scheduled);
            health.OnRan(function.Name, scheduled, $"{e.GetType().Name}: {e.Message}");
        }
    }

    private async Task<T> WithRetryAsync<T>(Func<Task<T>> action, string function, CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                return await action();
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogMonitorUnavailable(logger, function, e.Message);
                health.OnFailure(function, "schedule monitor unavailable: " + e.Message);
                await Task.Delay(delay, time, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "{Function} scheduled: '{Schedule}' (UTC)")]
    private static partial void LogScheduled(ILogger logger, string function, string schedule);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "{Function} missed its run of {Occurrence:O}; running it now, past due")]
    private static partial void LogPastDue(ILogger logger, string function, DateTimeOffset occurrence);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "{Function}: the run of {Occurrence:O} was claimed by another replica")]
    private static partial void LogClaimedElsewhere(ILogger logger, string function, DateTimeOffset occurrence);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "{Function} failed for its run of {Occurrence:O}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string function, DateTimeOffset occurrence);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "{Function}: schedule monitor unavailable ({Reason}); retrying")]
    private static partial void LogMonitorUnavailable(ILogger logger, string function, string reason);
}
