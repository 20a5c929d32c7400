using System.Net.Http.Json;
using System.Text.Json;
using Spectre.Console;

namespace SensorPipeline.Functions.Hosting;

/// <summary>
/// <c>recalibrate</c>: starts a recalibration job on a running app (or follows one) and shows its
/// progress live until it completes. Ctrl+C stops watching; the job goes on.
/// </summary>
internal static class RecalibrateCommand
{
    public static async Task<int> RunAsync(string url, string? key, string? sensor, string? from, string? to, long? jobId, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url.TrimEnd('/') + "/") };
        key ??= Environment.GetEnvironmentVariable("Keys__Master");
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
                    AnsiConsole.MarkupLine("[red]--from and --to are required (or --job to follow an existing job).[/]");
                    return 2;
                }

                using var response = await http.PostAsJsonAsync("api/recalibrations", new { sensorId = sensor, from, to }, cancellationToken);
                var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    AnsiConsole.MarkupLine($"[red]Rejected ({(int)response.StatusCode}):[/] {Markup.Escape(body.ToString())}");
                    return 1;
                }

                jobId = body.GetProperty("id").GetInt64();
                AnsiConsole.MarkupLine($"Started recalibration job [bold]{jobId}[/] for {(sensor is null ? "every sensor" : Markup.Escape(sensor))}, {Markup.Escape(from)} to {Markup.Escape(to)}.");
            }

            JsonElement job = default;
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask($"job {jobId}");
                    while (!cancellationToken.IsCancellationRequested)
                    {
                        job = await http.GetFromJsonAsync<JsonElement>($"api/recalibrations/{jobId}", cancellationToken);
                        var total = Math.Max(1, Math.Max(job.GetProperty("total").GetInt64(), job.GetProperty("published").GetInt64()));
                        task.MaxValue = total;
                        task.Value = job.GetProperty("calibrated").GetInt64();
                        var state = job.GetProperty("state").GetString();
                        task.Description = $"job {jobId} {state} · published {job.GetProperty("published").GetInt64():N0} · calibrated {job.GetProperty("calibrated").GetInt64():N0}/{total:N0} · {job.GetProperty("ratePerSecond").GetDouble():N0}/s";
                        if (state is "completed" or "cancelled")
                        {
                            task.Value = state == "completed" ? total : task.Value;
                            task.StopTask();
                            return;
                        }

                        // Each poll counts the job's range in the database: every 2 s is plenty for a progress bar.
                        await Task.Delay(2000, cancellationToken);
                    }
                });
            AnsiConsole.MarkupLine($"Job {jobId}: [bold]{job.GetProperty("state").GetString()}[/], {job.GetProperty("calibrated").GetInt64():N0} of {job.GetProperty("total").GetInt64():N0} readings recalculated.");
            return 0;
        }
        catch (OperationCanceledException)
        {
            AnsiConsole.MarkupLine($"Stopped watching. Job {jobId} goes on: follow it with [bold]recalibrate --job {jobId}[/], cancel it with DELETE {url}/api/recalibrations/{jobId}.");
            return 130;
        }
        catch (HttpRequestException e)
        {
            AnsiConsole.MarkupLine($"[red]Cannot reach the app at {Markup.Escape(url)}:[/] {Markup.Escape(e.Message)}. Is it running (dotnet run --project functions -- start)?");
            return 3;
        }
    }
}
