using System.Diagnostics;

namespace SensorPipeline.Benchmarks;

/// <summary>
/// When a load generator's client (HTTP) or device (MQTT) may send its next batch: within the
/// reading cap, on a schedule shared by all of them for a target rate (batch k due at
/// start + k × batch / rate), and while the pipeline's backlog is under the bound (backpressure the
/// pipeline itself does not give).
/// </summary>
internal sealed class LoadPacer(BenchmarkOptions options, int batch, BacklogMonitor? backlog)
{
    private readonly double _interval = options.Rate > 0 ? batch / options.Rate : 0;
    private readonly long _started = Stopwatch.GetTimestamp();
    private long _tickets = -1;
    private long _sentReadings;

    /// <summary>Waits for the next batch's turn; false when the reading cap is reached or <paramref name="stop"/> was requested.</summary>
    public async Task<bool> NextAsync(bool scheduled, CancellationToken stop)
    {
        if (Interlocked.Add(ref _sentReadings, batch) > options.MaxReadings)
        {
            return false;
        }

        try
        {
            if (scheduled && _interval > 0)
            {
                var due = _started + (long)(Interlocked.Increment(ref _tickets) * _interval * Stopwatch.Frequency);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, stop);
                }
            }

            while (backlog is not null && backlog.Backlog > options.MaxBacklog && !stop.IsCancellationRequested)
            {
                await Task.Delay(5, stop);
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        return !stop.IsCancellationRequested;
    }

    /// <summary>The batch is sent again (it was refused or lost): its readings were not new ones.</summary>
    public void GiveBack() => Interlocked.Add(ref _sentReadings, -batch);
}
