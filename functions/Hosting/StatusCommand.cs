using System.Globalization;
using System.Net;
using System.Text.Json;
using SensorPipeline.Functions.OperatorConsole;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace SensorPipeline.Functions.Hosting;

/// <summary>
/// <c>status</c>: the pipeline view of a running app (<c>GET /api/console/pipeline</c>, the same
/// source as the dashboard) in the terminal — throughput, each group's lag as a bar against its KEDA
/// threshold (in total and per partition) with its age, trend and estimate, uncalibrated readings,
/// dead letters, ingest errors, recalibration jobs and what needs attention. Readable at 80 columns;
/// plain text (no colours, no redraw) when the output is not a terminal. <c>--watch</c> redraws every
/// <c>--interval</c> seconds in a terminal, or prints a block each time otherwise.
/// </summary>
internal static class StatusCommand
{
    /// <summary>
    /// Exit codes: 0 nothing needs attention; 1 a warning (the view's <c>attention</c> list has one);
    /// 2 something critical; 3 the app could not be reached, or refused the key, or did not answer
    /// with a view. With --watch, the code of the last view shown.
    /// </summary>
    public const int Healthy = 0, Warning = 1, Critical = 2, Unreachable = 3;

    private const int BarWidth = 24;

    public static Task<int> RunAsync(string url, string? key, bool watch, int intervalSeconds, string? localSettingsPath, CancellationToken cancellationToken) =>
        RunAsync(AnsiConsole.Console, url, RecalibrateCommand.ResolveKey(key, Environment.GetEnvironmentVariable("Keys__Master"), localSettingsPath),
            watch, TimeSpan.FromSeconds(Math.Max(1, intervalSeconds)), cancellationToken);

    public static async Task<int> RunAsync(IAnsiConsole console, string url, string? key, bool watch, TimeSpan interval, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(console);
        using var http = new HttpClient { BaseAddress = new Uri(url.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(30) };
        if (!string.IsNullOrEmpty(key))
        {
            http.DefaultRequestHeaders.Add("x-functions-key", key);
        }

        var fancy = console.Profile.Capabilities.Ansi;
        if (!watch)
        {
            var (view, exit) = await ReadAsync(http, url, key, fancy, cancellationToken);
            console.Write(view);
            return exit;
        }

        var last = Unreachable;
        try
        {
            if (console.Profile.Capabilities.Interactive)
            {
                await console.Live(new Text("")).AutoClear(false).StartAsync(async context =>
                {
                    while (true)
                    {
                        (var view, last) = await ReadAsync(http, url, key, fancy, cancellationToken);
                        context.UpdateTarget(view);
                        context.Refresh();
                        await Task.Delay(interval, cancellationToken);
                    }
                });
            }
            else
            {
                while (true)
                {
                    (var view, last) = await ReadAsync(http, url, key, fancy, cancellationToken);
                    console.Write(view);
                    console.WriteLine();
                    await Task.Delay(interval, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C ends the watch: the code of the last view shown.
        }

        return last;
    }

    /// <summary>One view as a renderable and its exit code; a failure is a renderable saying what went wrong, exit 3.</summary>
    private static async Task<(IRenderable View, int Exit)> ReadAsync(HttpClient http, string url, string? key, bool fancy, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync("api/console/pipeline", cancellationToken);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                return (Lines(string.IsNullOrEmpty(key)
                    ? "[red]A key is required:[/] pass --key, set Keys__Master, or put it in local.settings.json Values."
                    : $"[red]The key was refused ({(int)response.StatusCode}):[/] pass the app's master key or a function key with --key."), Unreachable);
            }

            if (!response.IsSuccessStatusCode)
            {
                return (Lines($"[red]{Markup.Escape(url)} answered {(int)response.StatusCode}[/] to GET /api/console/pipeline (an app without the pipeline view?)."), Unreachable);
            }

            var view = await response.Content.ReadFromJsonAsync<PipelineView.Body>(JsonSerializerOptions.Web, cancellationToken)
                ?? throw new JsonException("empty body");
            return (Render(view, url, fancy), ExitCode(view));
        }
        catch (HttpRequestException e) when (e.StatusCode is null)
        {
            return (Lines(
                $"[red]Cannot reach the app at {Markup.Escape(url)}[/] ({Markup.Escape(e.HttpRequestError.ToString())}).",
                "  Is it running? dotnet run --project functions -- start; or pass --url."), Unreachable);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (Lines($"[red]{Markup.Escape(url)} did not answer within {http.Timeout.TotalSeconds:0} s.[/]"), Unreachable);
        }
        catch (JsonException e)
        {
            return (Lines($"[red]{Markup.Escape(url)} answered something that is not a pipeline view:[/] {Markup.Escape(e.Message)}"), Unreachable);
        }
    }

    /// <summary>The documented rule: 2 with any critical item in <c>attention</c>, 1 with a warning, 0 with none.</summary>
    internal static int ExitCode(PipelineView.Body view)
    {
        ArgumentNullException.ThrowIfNull(view);
        return view.Attention.Any(a => a.Severity == PipelineView.Critical) ? Critical
            : view.Attention.Count > 0 ? Warning
            : Healthy;
    }

    /// <summary>The view as lines of at most 80 columns (longer messages wrap at the console's width).</summary>
    internal static IRenderable Render(PipelineView.Body view, string url, bool fancy)
    {
        ArgumentNullException.ThrowIfNull(view);
        var lines = new List<string>
        {
            $"[bold]Pipeline[/] {Markup.Escape(Cut(url, 40))}  {view.GeneratedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC",
            Invariant($"In {view.Throughput.ReceivedPerSecond:0.#}/s, calibrated {view.Throughput.CalibratedPerSecond:0.#}/s (last {view.Throughput.WindowSeconds:0} s)"),
            "",
            "[bold]Lag[/] (messages; the bar is the lag against the KEDA threshold)",
        };
        foreach (var c in view.Consumers)
        {
            lines.Add($"[bold]{Markup.Escape(Cut(c.Function, 78))}[/]");
            lines.Add("  " + Markup.Escape(Cut($"group {c.Group}  topic {c.Topic}", 76)));
            var age = c.Lag == 0 ? "" : c.LagSeconds is { } s ? $"  oldest {Duration(s)}" : "  oldest ?";
            lines.Add($"  total {Bar(c.Lag, c.LagThreshold, fancy)} {Invariant($"{c.Lag,7} / {c.LagThreshold}")}{age}");
            if (c.Lag > 0)
            {
                var clears = c.ClearsInSeconds is { } e ? $", clears in {Duration(e)}" : ", not shrinking";
                lines.Add(Invariant($"        trend {c.TrendPerSecond:+0.#;-0.#;0}/s{clears}"));
            }

            foreach (var p in c.Partitions)
            {
                lines.Add($"  {Invariant($"p{p.Partition}"),-5} {Bar(p.Lag, c.LagThreshold, fancy)} {Invariant($"{p.Lag,7}")}");
            }
        }

        lines.Add("");
        lines.Add(view.Uncalibrated.Count == 0
            ? Invariant($"[bold]Uncalibrated[/]  none past the {view.Uncalibrated.GracePeriodSeconds:0} s grace period")
            : Invariant($"[bold]Uncalibrated[/]  [yellow]{view.Uncalibrated.Count}[/] past the {view.Uncalibrated.GracePeriodSeconds:0} s grace period, oldest {Duration(view.Uncalibrated.OldestAgeSeconds)}"));
        lines.Add(view.DeadLetters.Count == 0 ? "[bold]Dead letters[/]  none" : Invariant($"[bold]Dead letters[/]  [yellow]{view.DeadLetters.Sum(d => d.Count)}[/]"));
        lines.AddRange(view.DeadLetters.Select(d => "  " + Markup.Escape(Invariant($"{d.Count,5}  {d.Function} ({d.Topic}): {d.Reason}"))));
        lines.Add(view.IngestErrors.ByReason.Count == 0 && view.IngestErrors.NotStored == 0
            ? "[bold]Ingest errors[/]  none"
            : Invariant($"[bold]Ingest errors[/]  {view.IngestErrors.ByReason.Sum(r => r.Count)}, not stored {view.IngestErrors.NotStored}"));
        lines.AddRange(view.IngestErrors.ByReason.Select(r => "  " + Markup.Escape(Invariant($"{r.Count,5}  {r.Reason}"))));
        lines.Add(view.Recalibrations.Count == 0 ? "[bold]Recalibrations[/]  none running" : "[bold]Recalibrations[/]");
        lines.AddRange(view.Recalibrations.Select(j => "  " + Markup.Escape(Invariant(
            $"job {j.Id} {j.SensorId ?? "all sensors"} {j.State}: {j.Calibrated:N0} of {j.Total:N0} ({j.Percent:0.0}%), published {j.Published:N0}"))));
        lines.Add("");
        if (view.Attention.Count == 0)
        {
            lines.Add("[green]OK[/]: nothing needs attention.");
        }
        else
        {
            lines.Add(Invariant($"[bold]Attention[/] ({view.Attention.Count})"));
            lines.AddRange(view.Attention.Select(a =>
                (a.Severity == PipelineView.Critical ? "  [red]CRITICAL[/] " : "  [yellow]WARNING[/]  ") + Markup.Escape($"{a.Subject}: {a.Message}")));
        }

        return Lines([.. lines]);
    }

    private static Rows Lines(params string[] lines) => new(lines.Select(l => (IRenderable)new Markup(l.Length == 0 ? " " : l)));

    /// <summary>The lag against the threshold: full at the threshold, marked past it; ASCII without a terminal.</summary>
    private static string Bar(long lag, long threshold, bool fancy)
    {
        var ratio = threshold > 0 ? (double)lag / threshold : 0;
        var filled = lag == 0 ? 0 : Math.Clamp((int)Math.Ceiling(ratio * BarWidth), 1, BarWidth);
        var over = ratio > 1;
        if (!fancy)
        {
            return Markup.Escape("[" + new string('#', filled) + new string('.', BarWidth - filled) + (over ? ">" : "]"));
        }

        var colour = over ? "red" : ratio > 0.5 ? "yellow" : "green";
        return $"[{colour}]{new string('█', filled)}[/][grey]{new string('░', BarWidth - filled)}[/]{(over ? "[red]>[/]" : " ")}";
    }

    private static string Duration(double seconds) => seconds switch
    {
        < 60 => Invariant($"{seconds:0.#} s"),
        < 3600 => Invariant($"{(int)(seconds / 60)}m{(int)(seconds % 60):00}s"),
        < 86400 => Invariant($"{(int)(seconds / 3600)}h{(int)(seconds % 3600 / 60):00}m"),
        _ => Invariant($"{seconds / 86400:0.#} d"),
    };

    private static string Cut(string text, int width) => text.Length <= width ? text : text[..Math.Max(1, width - 1)] + "…";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
