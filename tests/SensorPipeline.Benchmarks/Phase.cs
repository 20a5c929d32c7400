using System.Diagnostics;

namespace SensorPipeline.Benchmarks;

/// <summary>A measured window of a run: its time span and the CPU the app, PostgreSQL and the machine spent in it.</summary>
internal sealed record Phase(string Name, DateTime From, DateTime To, double Seconds, double AppCpu, double PgCpu, double MachineBusy, string LoadStart, string LoadEnd)
{
    /// <summary>Waits <paramref name="duration"/> and returns what was spent meanwhile.</summary>
    public static async Task<Phase> MeasureAsync(string name, AppProcess app, int? postmaster, TimeSpan duration, CancellationToken token)
    {
        var loadStart = ProcStats.LoadAverage();
        var from = DateTime.UtcNow;
        var start = Stopwatch.GetTimestamp();
        var app0 = ProcStats.CpuSeconds(app.Pid) ?? 0;
        var pg0 = postmaster is { } p0 ? ProcStats.TreeCpuSeconds(p0) : 0;
        var machine0 = ProcStats.MachineCpu();
        await Task.Delay(duration, token);
        var to = DateTime.UtcNow;
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var app1 = ProcStats.CpuSeconds(app.Pid) ?? app0;
        var pg1 = postmaster is { } p1 ? ProcStats.TreeCpuSeconds(p1) : 0;
        var machine1 = ProcStats.MachineCpu();
        return new Phase(name, from, to, seconds, app1 - app0, pg1 - pg0, (machine1.Busy - machine0.Busy) / Math.Max(1e-9, machine1.Total - machine0.Total), loadStart, ProcStats.LoadAverage());
    }
}
