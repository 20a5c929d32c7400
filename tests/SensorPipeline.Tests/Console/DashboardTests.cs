using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using SensorPipeline.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SensorPipeline.Tests.Console;

/// <summary>The dashboard in a real headless Chromium against the whole app (PostgreSQL, Kafka over the protocol).</summary>
[Collection(IntegrationCollection.Name)]
public sealed class DashboardTests(TestServers servers, ChromiumFixture chromium) : IClassFixture<ChromiumFixture>
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Dashboard_refuses_without_a_key_and_loads_with_one()
    {
        await using var app = await DashboardApp.StartAsync(servers, "console_key");
        await DashboardApp.PostSeriesAsync(app, "keyed-1", Start, [21.5]);
        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from raw_data"), n => n == 1, TimeSpan.FromSeconds(60), "the reading stored");

        var page = await DashboardApp.NewPageAsync(chromium.Browser, app);
        var answered = new List<(string Url, int Status)>();
        page.Response += (_, r) => { if (r.Url.Contains("/api/console/", StringComparison.Ordinal)) answered.Add((r.Url, r.Status)); };
        await page.GotoAsync("/");
        Assert.EndsWith("/api/dashboard/", page.Url, StringComparison.Ordinal);
        await Expect(page.Locator("#key-form")).ToBeVisibleAsync();
        await Expect(page.Locator("main")).ToHaveAttributeAsync("data-page", "key");
        await Expect(page.Locator("table")).ToHaveCountAsync(0);
        Assert.All(answered, a => Assert.Equal(401, a.Status));

        await page.Locator("#key-input").FillAsync("not-a-key");
        await page.Locator("#key-form button[type=submit]").ClickAsync();
        await Expect(page.Locator("#key-error")).ToContainTextAsync("refused");
        await Expect(page.Locator("table")).ToHaveCountAsync(0);

        await page.Locator("#key-input").FillAsync(DashboardApp.ReaderKey);
        await page.Locator("#key-form button[type=submit]").ClickAsync();
        await page.GotoAsync("/api/dashboard/#/sensors");
        await Expect(page.Locator("#sensors tr[data-sensor='keyed-1']")).ToContainTextAsync("21.5");
        // The key is kept for the tab: a reload asks for nothing.
        await page.ReloadAsync();
        await Expect(page.Locator("#sensors tr[data-sensor='keyed-1']")).ToBeVisibleAsync();
        Assert.Equal(DashboardApp.ReaderKey, await page.EvaluateAsync<string>("sessionStorage.getItem('sensorpipeline.key')"));

        // A function key looks; changing things needs the master key, and the page says so.
        await page.Locator("#sensors tr[data-sensor='keyed-1'] a").ClickAsync();
        await Expect(page.Locator("#series-summary")).ToHaveTextAsync("1 reading, every one shown");
        await page.Locator("#cal-gain").FillAsync("2");
        await page.Locator("#cal-submit").ClickAsync();
        await Expect(page.Locator("#job .error")).ToHaveTextAsync("Adding a version needs the master key.");
        Assert.Equal(0, await app.ScalarAsync("select count(*) from calibration"));

        // The files: content types, ETag, a 304 on revalidation; the API refuses without a key.
        using var anonymous = new HttpClient { BaseAddress = app.Http.BaseAddress };
        var script = await anonymous.GetAsync("/api/dashboard/uPlot.esm.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType!.MediaType);
        var etag = script.Headers.ETag!;
        using var again = new HttpRequestMessage(HttpMethod.Get, "/api/dashboard/uPlot.esm.js");
        again.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, (await anonymous.SendAsync(again)).StatusCode);
        var index = await anonymous.GetAsync("/api/dashboard/");
        Assert.Equal("text/html", index.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("default-src 'self'", index.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/api/dashboard/nothing.js")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/console/sensors")).StatusCode);
    }

    [Fact]
    public async Task Sensor_chart_shows_the_posted_points()
    {
        await using var app = await DashboardApp.StartAsync(servers, "console_chart");
        var values = Enumerable.Range(0, 40).Select(i => 20.25 + (i % 7) * 0.5).ToArray();
        await DashboardApp.PostSeriesAsync(app, "chart-1", Start, values);
        await DashboardApp.PostSeriesAsync(app, "chart-2", Start, [5.0]);
        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 41, TimeSpan.FromSeconds(60), "41 readings calibrated");

        var page = await DashboardApp.OpenAsync(chromium.Browser, app, DashboardApp.ReaderKey, "#/sensors");
        await Expect(page.Locator("#sensor-total")).ToHaveTextAsync("2");
        await page.Locator("#search").FillAsync("chart-1");
        await Expect(page.Locator("#sensor-total")).ToHaveTextAsync("1");
        var row = page.Locator("#sensors tr[data-sensor='chart-1']");
        // Latest raw and calibrated (identity: no parameters), no version, not silent.
        await Expect(row.Locator("td").Nth(2)).ToHaveTextAsync(values[^1].ToString(CultureInfo.InvariantCulture));
        await Expect(row.Locator("td").Nth(3)).ToHaveTextAsync(values[^1].ToString(CultureInfo.InvariantCulture));
        await Expect(row.Locator("td").Nth(4)).ToHaveTextAsync("none");
        await Expect(row.Locator(".badge.silent")).ToHaveCountAsync(0);
        await DashboardApp.ScreenshotAsync(page, "sensors.png");

        await row.Locator("a").ClickAsync();
        await page.WaitForFunctionAsync("() => window.sensorChart && window.sensorChart.data[0].length === 40");
        var data = await page.EvaluateAsync<JsonElement>("() => window.sensorChart.data");
        var times = data[0].EnumerateArray().Select(t => t.GetDouble()).ToArray();
        var raw = data[1].EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var calibrated = data[2].EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.Equal(Enumerable.Range(0, 40).Select(i => (double)Start.AddMinutes(i).ToUnixTimeSeconds()), times);
        Assert.Equal(values, raw);
        // No calibration parameters: the identity (gain 1, offset 0).
        Assert.Equal(values, calibrated);
        await Expect(page.Locator("#series-summary")).ToContainTextAsync("40 readings, every one shown");
        // The last hour up to the newest reading: the same 40 points, drawn across the chart.
        await page.Locator("button.range", new() { HasText = "1 h" }).ClickAsync();
        await Expect(page.Locator("#range-from")).ToHaveValueAsync("2026-04-30T23:39:00.001Z");
        await page.WaitForFunctionAsync("() => window.sensorChart.scales.x.max - window.sensorChart.scales.x.min <= 3600.001 && window.sensorChart.data[0].length === 40");
        await DashboardApp.ScreenshotAsync(page, "sensor.png");
    }

    [Fact]
    public async Task Calibration_version_added_from_the_form_shows_its_job_to_completion()
    {
        await using var app = await DashboardApp.StartAsync(servers, "console_cal", s => s["RecalibrationSchedule"] = "*/1 * * * * *");
        var values = Enumerable.Range(0, 300).Select(i => 10.0 + i * 0.01).ToArray();
        await DashboardApp.PostSeriesAsync(app, "cal-1", Start, values);
        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 300, TimeSpan.FromSeconds(60), "300 readings calibrated");

        var page = await DashboardApp.OpenAsync(chromium.Browser, app, DashboardApp.MasterKey, "#/sensors/cal-1");
        await page.WaitForFunctionAsync("() => window.sensorChart && window.sensorChart.data[0].length === 300");
        await page.Locator("#cal-gain").FillAsync("2");
        await page.Locator("#cal-offset").FillAsync("1");
        // From the middle on: the later 150 readings are recalculated.
        await page.Locator("#cal-valid-from").FillAsync("2026-05-01T02:30:00Z");
        await page.Locator("#cal-submit").ClickAsync();

        await Expect(page.Locator("#added-version")).ToHaveTextAsync("Version 1 stored.");
        var progress = page.Locator("#job-progress");
        await Expect(progress).ToBeVisibleAsync();
        await Expect(progress.Locator("progress")).ToHaveCountAsync(1);
        await Expect(progress).ToHaveAttributeAsync("data-state", "completed", new() { Timeout = 120_000 });
        await Expect(progress).ToHaveAttributeAsync("data-percent", "100");
        await Expect(progress).ToContainTextAsync("150 of 150 readings");
        await Expect(page.Locator("#versions tr[data-version='1']")).ToBeVisibleAsync();

        // The chart reloads with the recalculated values: 2 × raw + 1 from validFrom on, raw before.
        var validFrom = new DateTimeOffset(2026, 5, 1, 2, 30, 0, TimeSpan.Zero).ToUnixTimeSeconds();
        await page.WaitForFunctionAsync($$"""
            () => {
              const [t, raw, cal] = window.sensorChart.data;
              return t.length === 300 && t.every((x, i) => Math.abs(cal[i] - (x >= {{validFrom}} ? 2 * raw[i] + 1 : raw[i])) < 1e-6);
            }
            """);
        Assert.Equal(150, await app.ScalarAsync("select count(*) from calibrated_temperature where sensor_id = 'cal-1' and calibration_version = 1"));
        await page.Locator("button.range", new() { HasText = "6 h" }).ClickAsync();
        await page.WaitForFunctionAsync("() => window.sensorChart.scales.x.max - window.sensorChart.scales.x.min <= 21600.001 && window.sensorChart.data[0].length === 300");
        await DashboardApp.ScreenshotAsync(page, "sensor-recalibrated.png");
    }

    [Fact]
    public async Task Live_numbers_move_while_readings_are_posted()
    {
        await using var app = await DashboardApp.StartAsync(servers, "console_live");
        var page = await DashboardApp.OpenAsync(chromium.Browser, app, DashboardApp.ReaderKey, "#/pipeline");
        var received = page.Locator("#received-rate");
        await Expect(received).ToHaveTextAsync("0 /s");
        await Expect(page.Locator("#consumers tr[data-function='PersistRawReadings']")).ToBeVisibleAsync();
        var updatedAt = await page.Locator("#generated-at").TextContentAsync();

        // Readings keep arriving until the page shows them coming in and being calibrated.
        using var feeding = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var minute = 0;
        var feeder = Task.Run(async () =>
        {
            while (!feeding.IsCancellationRequested)
            {
                await DashboardApp.PostSeriesAsync(app, "live-" + (minute % 5), Start.AddDays(minute / 5), Enumerable.Repeat(20.0, 100).ToArray());
                minute++;
                await Task.Delay(200, CancellationToken.None);
            }
        });
        try
        {
            await page.WaitForFunctionAsync("() => parseFloat(document.getElementById('received-rate').textContent.replace(/,/g, '')) > 0", null, new() { Timeout = 60_000 });
            await page.WaitForFunctionAsync("() => parseFloat(document.getElementById('calibrated-rate').textContent.replace(/,/g, '')) > 0", null, new() { Timeout = 60_000 });
            await Expect(page.Locator("#generated-at")).Not.ToHaveTextAsync(updatedAt!);
            await DashboardApp.ScreenshotAsync(page, "pipeline.png");
        }
        finally
        {
            await feeding.CancelAsync();
            await feeder;
        }

        Assert.True(await app.ScalarAsync("select count(*) from raw_data") > 0);
    }

    [Fact]
    public async Task Dead_letter_replayed_from_the_page_disappears()
    {
        await using var app = await DashboardApp.StartAsync(servers, "console_dlq", s => s["AzureFunctionsJobHost:extensions:kafka:maxRetries"] = "1");
        await app.ExecuteAsync("""
            create function refuse_poison() returns trigger language plpgsql as $$
            begin
              if new.sensor_id = 'poison-1' then raise exception 'sensor poison-1 is refused by a rule'; end if;
              return new;
            end $$;
            create trigger refuse_poison before insert on calibrated_temperature for each row execute function refuse_poison();
            """);
        await DashboardApp.PostSeriesAsync(app, "fine-1", Start, [20.0, 21.0]);
        await DashboardApp.PostSeriesAsync(app, "poison-1", Start, [1.0]);

        var page = await DashboardApp.OpenAsync(chromium.Browser, app, DashboardApp.MasterKey, "#/pipeline");
        var letter = page.Locator("#dead-letters tr[data-function='CalibrateRealtime']");
        await Expect(letter).ToContainTextAsync("sensor poison-1 is refused by a rule", new() { Timeout = 60_000 });
        await Expect(page.Locator("#dead-letter-count")).ToHaveTextAsync("1");

        await app.ExecuteAsync("drop trigger refuse_poison on calibrated_temperature");
        await page.Locator("#replay").ClickAsync();
        await Expect(page.Locator("#status")).ToHaveTextAsync("Replayed 1 dead letter(s).");
        await Expect(letter).ToHaveCountAsync(0, new() { Timeout = 60_000 });
        await Expect(page.Locator("#dead-letter-count")).ToHaveTextAsync("0");
        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from calibrated_temperature where sensor_id = 'poison-1'"), n => n == 1, TimeSpan.FromSeconds(30), "the replayed reading");
    }

    [Fact]
    public async Task Recalibration_job_is_shown_with_its_progress_and_cancelled_from_the_page()
    {
        // The producer's timer does not come round during the test: the job stays running at 0 %.
        await using var app = await DashboardApp.StartAsync(servers, "console_cancel", s => s["RecalibrationSchedule"] = "0 0 0 1 1 *");
        await DashboardApp.PostSeriesAsync(app, "job-1", Start, Enumerable.Range(0, 50).Select(i => 10.0 + i).ToArray());
        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 50, TimeSpan.FromSeconds(60), "50 readings calibrated");
        var started = await app.Http.PostAsJsonAsync("/api/recalibrations", new { sensorId = "job-1", from = "2026-04-01T00:00:00Z", to = "2026-06-01T00:00:00Z" });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();

        var page = await DashboardApp.OpenAsync(chromium.Browser, app, DashboardApp.MasterKey, "#/pipeline");
        var row = page.Locator($"#recalibrations tr[data-id='{id}']");
        await Expect(row).ToContainTextAsync("0 / 50 (0%)");
        await Expect(row.Locator(".state")).ToHaveTextAsync("running");
        await Expect(row.Locator("a")).ToHaveTextAsync("job-1");

        await row.Locator("button.cancel").ClickAsync();
        await Expect(page.Locator("#status")).ToHaveTextAsync($"Job {id} cancelled.");
        await Expect(row).ToHaveCountAsync(0);
        Assert.Equal("cancelled", (await app.Http.GetFromJsonAsync<JsonElement>($"/api/recalibrations/{id}")).GetProperty("state").GetString());
    }

    [Fact]
    public async Task Dashboard_opens_without_a_prompt_when_no_keys_are_configured_in_Development()
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("console_open"));
        await using var app = await PipelineApp.StartAsync(settings);
        Assert.Equal(HttpStatusCode.Accepted, (await app.PostReadingsAsync(new[] { new { sensorId = "open-1", recordedAt = Start.ToString("O"), value = 3.5 } })).StatusCode);
        await Eventually.WaitForAsync(() => app.ScalarAsync("select count(*) from raw_data"), n => n == 1, TimeSpan.FromSeconds(60), "the reading stored");

        var page = await DashboardApp.NewPageAsync(chromium.Browser, app);
        await page.GotoAsync("/api/dashboard/#/sensors");
        await Expect(page.Locator("#sensors tr[data-sensor='open-1']")).ToContainTextAsync("3.5");
        await Expect(page.Locator("#key-form")).ToHaveCountAsync(0);
        await Expect(page.Locator("#forget-key")).ToBeHiddenAsync();
    }
}
