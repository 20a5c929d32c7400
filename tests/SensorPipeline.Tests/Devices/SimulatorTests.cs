using System.Text.RegularExpressions;
using SensorPipeline.Functions.Hosting;
using SensorPipeline.Tests.Infrastructure;
using Spectre.Console;
using static SensorPipeline.Tests.Devices.DeviceTestClient;

namespace SensorPipeline.Tests.Devices;

/// <summary><c>simulate</c> against the whole app: every reading it counts as acknowledged is stored and calibrated.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class SimulatorTests(TestServers servers) : IAsyncLifetime
{
    private const string ProvisioningSecret = "simulate-fleet-secret-0123456789";
    private PipelineApp _app = null!;

    public async Task InitializeAsync()
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("simulate"));
        RequireKeys(settings);
        settings["DeviceProvisioningSecret"] = ProvisioningSecret;
        _app = await PipelineApp.StartAsync(settings);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Theory]
    [InlineData("mqtt")]
    [InlineData("http")]
    public async Task Simulated_devices_readings_are_all_acknowledged_stored_and_calibrated(string transport)
    {
        var before = await _app.ScalarAsync("select count(*) from raw_data");
        var exit = await SimulateCommand.RunAsync(_app.Http.BaseAddress!.ToString(), MasterKey, devices: 3, rate: 5, transport, duration: 3, CancellationToken.None);
        Assert.Equal(0, exit);
        var devices = await _app.ScalarAsync("select count(*) from device");
        Assert.True(devices >= 3);
        // 3 devices x 5/s x 3 s is about 45 readings; every one acknowledged is stored and calibrated.
        await Eventually.WaitForAsync(
            async () => (Raw: await _app.ScalarAsync("select count(*) from raw_data"), Calibrated: await _app.ScalarAsync("select count(*) from calibrated_temperature")),
            n => n.Raw - before >= 30 && n.Calibrated == n.Raw, TimeSpan.FromSeconds(60), "the simulated readings stored and calibrated");
        Assert.Equal(0, await _app.ScalarAsync("select count(*) from raw_data where sensor_id not like 'sim-%'"));
    }

    [Fact]
    public async Task Simulated_devices_provision_themselves_with_the_fleet_secret_and_their_readings_are_stored()
    {
        var devicesBefore = await _app.ScalarAsync("select count(*) from device where firmware = 'simulate-1.0'");
        // No master key: the startup events carry the devices in.
        var exit = await SimulateCommand.RunAsync(_app.Http.BaseAddress!.ToString(), key: null, devices: 2, rate: 5, "http", duration: 2, ProvisioningSecret, CancellationToken.None);
        Assert.Equal(0, exit);
        Assert.Equal(devicesBefore + 2, await _app.ScalarAsync("select count(*) from device where firmware = 'simulate-1.0' and hardware_id like 'sim:%' and last_boot_at is not null and credential_state = 'active'"));
        await Eventually.WaitForAsync(
            () => _app.ScalarAsync("select count(*) from raw_data r join device_sensor s on s.sensor_id = r.sensor_id join device d on d.device_id = s.device_id where d.firmware = 'simulate-1.0'"),
            n => n >= 10, TimeSpan.FromSeconds(60), "the provisioned devices' readings stored");

        Assert.Equal(5, await SimulateCommand.RunAsync(_app.Http.BaseAddress!.ToString(), null, 1, 1, "http", 1, "not-the-fleet-secret-0123", CancellationToken.None));
    }

    [Fact]
    public async Task On_a_terminal_a_live_table_per_transport_and_group_and_redirected_plain_lines_each_with_the_summary()
    {
        var url = _app.Http.BaseAddress!.ToString();
        var (terminal, terminalOut) = Console100(interactive: true);
        Assert.Equal(0, await SimulateCommand.RunAsync(terminal, url, MasterKey, devices: 4, rate: 4, "both", duration: 2, provisioningSecret: null, CancellationToken.None));
        var shown = RecordingConsole.WithoutEscapes(terminalOut.ToString());
        // The table: its header and a row per transport and device group (devices 0, 2 on MQTT, 1, 3 on HTTP; device 1 spikes).
        Assert.Contains("acknowledged", shown);
        Assert.Matches(@"mqtt\s*│\s*2\s*│\s*steady", shown);
        Assert.Matches(@"http\s*│\s*1\s*│\s*steady", shown);
        Assert.Matches(@"http\s*│\s*1\s*│\s*spikes now and then", shown);
        Assert.Matches(@"all\s*│\s*4\s*│", shown);
        Assert.DoesNotContain("  second      sent", shown);
        var summary = Assert.Single(shown.Split('\n'), l => l.StartsWith("Summary: ", StringComparison.Ordinal));
        Assert.Matches(@"^Summary: (\d+) sent, \1 acknowledged .* 0 refused, 0 failed, in .* s over both\.", summary);

        var (redirected, redirectedOut) = Console100(interactive: false);
        Assert.Equal(0, await SimulateCommand.RunAsync(redirected, url, MasterKey, devices: 2, rate: 4, "mqtt", duration: 2, provisioningSecret: null, CancellationToken.None));
        var lines = redirectedOut.ToString().Split('\n');
        Assert.DoesNotContain(lines, l => l.Contains('│', StringComparison.Ordinal) || l.Contains('\x1b', StringComparison.Ordinal));
        Assert.Contains("  second      sent  acknowledged   refused    failed", lines.Select(l => l.TrimEnd('\r')));
        Assert.True(lines.Count(l => Regex.IsMatch(l, @"^\s+\d+\s+\d+\s+\d+\s+0\s+0\s*$")) >= 2, redirectedOut.ToString());
        Assert.Single(lines, l => Regex.IsMatch(l, @"^Summary: (\d+) sent, \1 acknowledged .* over mqtt\."));
    }

    private static (IAnsiConsole Console, StringWriter Output) Console100(bool interactive) => RecordingConsole.Create(interactive, 100);

    [Fact]
    public async Task A_wrong_master_key_is_exit_5_and_bad_arguments_exit_2()
    {
        Assert.Equal(5, await SimulateCommand.RunAsync(_app.Http.BaseAddress!.ToString(), "wrong", 1, 1, "mqtt", 1, CancellationToken.None));
        Assert.Equal(2, await SimulateCommand.RunAsync(_app.Http.BaseAddress!.ToString(), MasterKey, 1, 1, "carrier-pigeon", 1, CancellationToken.None));
    }
}
