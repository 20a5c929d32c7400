using System.Globalization;
using System.Net;
using System.Text.Json;
using SensorPipeline.Runtime.Hosting;
using Spectre.Console;

namespace SensorPipeline.Functions.Hosting;

/// <summary>
/// <c>recalibrate</c>: starts a recalibration job on a running app (or follows one) and shows its
/// progress live until it completes. Ctrl+C stops watching; the job goes on. In a terminal a
/// progress bar that fits its width; otherwise (redirected, CI) one plain line per change.
/// </summary>
internal static class RecalibrateCommand
{
    /// <summary>
    /// Exit codes: 0 completed, 1 refused by the app, 2 bad arguments, 3 app not reachable, 4 no
    /// such job, 5 key required or refused, 6 the job was cancelled, 130 stopped watching. Only a
    /// completed job exits 0, so a Kubernetes Job's <c>condition=complete</c> means the job completed.
    /// </summary>
    public const int Refused = 1, BadArguments = 2, Unreachable = 3, NoSuchJob = 4, KeyProblem = 5, Cancelled = 6, Stopped = 130;

    /// <summary>The master key as the app would find it: --key, else Keys__Master in the environment, else local.settings.json Values.</summary>
    public static string? ResolveKey(string? key, string? environmentKey, string? localSettingsPath)
    {
        if (!string.IsNullOrEmpty(key))
        {
            return key;
        }

        if (!string.IsNullOrEmpty(environmentKey))
        {
            return environmentKey;
        }

        if (localSettingsPath is not null && File.Exists(localSettingsPath))
        {
            try
            {
                return FunctionsConfiguration.ReadLocalSettings(localSettingsPath).TryGetValue("Keys:Master", out var fromFile) && !string.IsNullOrEmpty(fromFile) ? fromFile : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }

        return null;
    }

    public static Task<int> RunAsync(string url, string? key, string? sensor, string? from, string? to, long? jobId, string? name, string? localSettingsPath, CancellationToken cancellationToken) =>
        RunAsync(AnsiConsole.Console, url, ResolveKey(key, Environment.GetEnvironmentVariable("Keys__Master"), localSettingsPath), sensor, from, to, jobId, name, TimeSpan.FromSeconds(2), cancellationToken);

    public static Task<int> RunAsync(IAnsiConsole console, string url, string? key, string? sensor, string? from, string? to, long? jobId, TimeSpan pollInterval, CancellationToken cancellationToken) =>
        RunAsync(console, url, key, sensor, from, to, jobId, null, pollInterval, cancellationToken);

    /// <param name="name">
    /// The request id: a second run with the same name (a pod restarted by its Job) follows the
    /// job the first one started instead of starting another.
    /// </param>
    public static async Task<int> RunAsync(IAnsiConsole console, string url, string? key, string? sensor, string? from, string? to, long? jobId, string? name, TimeSpan pollInterval, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(console);
        using var http = new HttpClient { BaseAddress = new Uri(url.TrimEnd('/') + "/") };
        if (!string.IsNullOrEmpty(key))
        {
            http.DefaultRequestHeaders.Add("x-functions-key", key);
        }

        try
        {
            if (jobId is null)
            {
                if (from is null || to is null)
                {
                    console.MarkupLine("[red]--from and --to are required[/] (or --job to follow a job).");
                    return BadArguments;
                }

                using var response = await http.PostAsJsonAsync("api/recalibrations", new { sensorId = sensor, from, to, requestId = name }, cancellationToken);
                if (await ProblemAsync(console, response, key, null, cancellationToken) is { } failed)
                {
                    return failed;
                }

                var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
                jobId = body.GetProperty("id").GetInt64();
                // 200: the request id had started this job before (a restarted pod); 202: a new job.
                var verb = response.StatusCode == HttpStatusCode.OK ? "Resumed following" : "Started";
                console.MarkupLine($"{verb} job [bold]{jobId}[/]{(name is null ? "" : $" ({Markup.Escape(name)})")}: {(sensor is null ? "every sensor" : Markup.Escape(sensor))},");
                console.MarkupLine($"  {Markup.Escape(from)} to {Markup.Escape(to)}.");
            }

            var job = await GetJobAsync(console, http, jobId.Value, key, cancellationToken);
            if (job.Failed is { } notFound)
            {
                return notFound;
            }

            var view = job.View;
            if (console.Profile.Capabilities.Interactive)
            {
                await console.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 20 }, new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                    .StartAsync(async context =>
                    {
                        var task = context.AddTask(Describe(jobId.Value, view, console.Profile.Width));
                        while (true)
                        {
                            task.MaxValue = Math.Max(1, view.Total);
                            task.Value = Math.Min(view.Calibrated, task.MaxValue);
                            task.Description = Describe(jobId.Value, view, console.Profile.Width);
                            if (view.IsFinished)
                            {
                                task.StopTask();
                                return;
                            }

                            // Each poll counts the job's range in the database: every 2 s is plenty for a progress bar.
                            await Task.Delay(pollInterval, cancellationToken);
                            var next = await GetJobAsync(console, http, jobId.Value, key, cancellationToken);
                            if (next.Failed is not null)
                            {
                                return;
                            }

                            view = next.View;
                        }
                    });
            }
            else
            {
                // Not a terminal: a plain line whenever something changed.
                string? last = null;
                while (true)
                {
                    var line = Plain(jobId.Value, view);
                    if (line != last)
                    {
                        console.WriteLine(line);
                        last = line;
                    }

                    if (view.IsFinished)
                    {
                        break;
                    }

                    await Task.Delay(pollInterval, cancellationToken);
                    var next = await GetJobAsync(console, http, jobId.Value, key, cancellationToken);
                    if (next.Failed is { } failed)
                    {
                        return failed;
                    }

                    view = next.View;
                }
            }

            console.MarkupLine($"Job {jobId}: [bold]{view.State}[/], {view.Calibrated:N0} of {view.Total:N0} readings recalculated.");
            return view.State switch
            {
                "completed" => 0,
                "cancelled" => Cancelled,
                _ => Refused,
            };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            console.MarkupLine($"Stopped watching. Job {jobId} goes on: follow it with [bold]recalibrate --job {jobId}[/];");
            console.MarkupLine($"  cancel it with DELETE {Markup.Escape(url)}/api/recalibrations/{jobId}.");
            return Stopped;
        }
        catch (HttpRequestException e) when (e.StatusCode is null)
        {
            console.MarkupLine($"[red]Cannot reach the app at {Markup.Escape(url)}[/] ({Markup.Escape(e.HttpRequestError.ToString())}).");
            console.MarkupLine("  Is it running? dotnet run --project functions -- start; or pass --url.");
            return Unreachable;
        }
    }

    /// <summary>A job as the API shows it.</summary>
    internal sealed record JobView(string State, long Total, long Published, long Calibrated, double Percent, double RatePerSecond)
    {
        public bool IsFinished => State is "completed" or "cancelled";

        public static JobView From(JsonElement job) => new(
            job.GetProperty("state").GetString() ?? "?",
            job.GetProperty("total").GetInt64(),
            job.GetProperty("published").GetInt64(),
            job.GetProperty("calibrated").GetInt64(),
            job.GetProperty("percent").GetDouble(),
            job.GetProperty("ratePerSecond").GetDouble());
    }

    private static async Task<(JobView View, int? Failed)> GetJobAsync(IAnsiConsole console, HttpClient http, long jobId, string? key, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync($"api/recalibrations/{jobId}", cancellationToken);
        if (await ProblemAsync(console, response, key, jobId, cancellationToken) is { } failed)
        {
            return (default!, failed);
        }

        return (JobView.From(await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)), null);
    }

    /// <summary>Says what went wrong with a response, in the user's terms; null when it succeeded.</summary>
    private static async Task<int?> ProblemAsync(IAnsiConsole console, HttpResponseMessage response, string? key, long? jobId, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return null;
        }

        switch (response.StatusCode)
        {
            case HttpStatusCode.NotFound when jobId is not null:
                console.MarkupLine($"[red]Job {jobId} does not exist.[/] (GET /api/recalibrations/{jobId} is 404.)");
                return NoSuchJob;
            case HttpStatusCode.Unauthorized when string.IsNullOrEmpty(key):
                console.MarkupLine("[red]A key is required:[/] pass --key, set Keys__Master,");
                console.MarkupLine("  or put Keys__Master in local.settings.json Values.");
                return KeyProblem;
            case HttpStatusCode.Unauthorized:
                console.MarkupLine("[red]The key was refused (401):[/] use the app's master key (Keys__Master).");
                return KeyProblem;
        }

        var detail = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            using var problem = JsonDocument.Parse(detail);
            if (problem.RootElement.TryGetProperty("detail", out var d) && d.GetString() is { } text)
            {
                detail = text;
            }
        }
        catch (JsonException)
        {
            // Not problem details: shown as it is.
        }

        console.MarkupLine($"[red]Refused ({(int)response.StatusCode}):[/] {Markup.Escape(detail)}");
        return Refused;
    }

    /// <summary>The progress bar's label, short enough that the bar, percentage and time fit in <paramref name="width"/> columns.</summary>
    internal static string Describe(long jobId, JobView job, int width)
    {
        // Bar 20, percentage 4, remaining time 8, spinner 1, and the gaps between columns.
        var room = Math.Max(8, width - 40);
        var text = string.Create(CultureInfo.InvariantCulture, $"job {jobId} {job.State} {job.Calibrated:N0}/{job.Total:N0}");
        return Markup.Escape(text.Length <= room ? text : text[..(room - 1)] + "…");
    }

    /// <summary>One plain line per change for a non-interactive output (under 80 columns for any realistic count).</summary>
    internal static string Plain(long jobId, JobView job) =>
        string.Create(CultureInfo.InvariantCulture,
            $"job {jobId}: {job.State}, {job.Calibrated:N0} of {job.Total:N0} recalculated ({job.Percent:0.0}%), {job.RatePerSecond:N0}/s");
}
