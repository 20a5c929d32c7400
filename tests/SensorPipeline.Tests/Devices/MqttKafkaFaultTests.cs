using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using SensorPipeline.Functions.Mqtt;
using SensorPipeline.Runtime.Embedded;
using SensorPipeline.Tests.Infrastructure;
using static SensorPipeline.Tests.Devices.DeviceTestClient;
using static SensorPipeline.Tests.Devices.MqttDoorTests;

namespace SensorPipeline.Tests.Devices;

/// <summary>
/// The MQTT door when the pipeline's Kafka fails: each test has its own mock Kafka cluster, taken
/// down mid-stream. Nothing acknowledged to a device (PUBACK success) is lost, and what the bridge
/// had received but Kafka had not acknowledged is delivered again and stored once.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class MqttKafkaFaultTests(TestServers servers)
{
    private static readonly DateTimeOffset At = new(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);

    private async Task<Dictionary<string, string?>> SettingsAsync(MockKafkaCluster kafka, string database, int messageTimeoutMs)
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync(database));
        RequireKeys(settings);
        settings["KafkaBrokerList"] = kafka.BootstrapServers;
        foreach (var key in new[] { "RawTopic", "RealtimeTopic", "HistoricalTopic" })
        {
            kafka.CreateTopic(settings[key]!, 4);
            kafka.CreateTopic(settings[key] + ".deadletter", 1);
        }

        settings["AzureFunctionsJobHost:extensions:kafka:messageTimeoutMs"] = messageTimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return settings;
    }

    [Fact]
    public async Task Embedded_broker_withholds_the_PUBACK_and_closes_the_connection_while_Kafka_is_down_and_loses_nothing_acknowledged()
    {
        using var kafka = MockKafkaCluster.Start(brokers: 1);
        await using var app = await PipelineApp.StartAsync(await SettingsAsync(kafka, "mqttkafkadown", 2000));
        var device = await EnrolAsync(app, "kf-1");

        var acknowledged = new List<int>();
        var withheld = 0;
        var closed = 0;
        using var stop = new CancellationTokenSource();
        var publishing = Task.Run(async () =>
        {
            IMqttClient? client = null;
            try
            {
                // A device: each reading is sent until it is acknowledged (again after reconnecting).
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    while (true)
                    {
                        try
                        {
                            if (client is not { IsConnected: true })
                            {
                                client?.Dispose();
                                client = await ConnectAsync(device);
                            }

                            var result = await PublishAsync(client, device.Topic, Reading("kf-1", At.AddSeconds(i), 20 + (i % 10)));
                            if (result.IsSuccess)
                            {
                                acknowledged.Add(i);
                                break;
                            }

                            withheld++;
                        }
                        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or InvalidOperationException or Xunit.Sdk.XunitException)
                        {
                            withheld++;
                        }

                        if (client is not { IsConnected: true })
                        {
                            closed++;
                        }

                        await Task.Delay(200);
                    }

                    await Task.Delay(20);
                }
            }
            finally
            {
                client?.Dispose();
            }
        });

        await Task.Delay(1500);
        kafka.SetBrokerDown(1);
        await Task.Delay(6000);
        kafka.SetBrokerUp(1);
        await Task.Delay(4000);
        await stop.CancelAsync();
        await publishing;

        Assert.True(withheld > 0, "Kafka's outage should have withheld at least one PUBACK");
        Assert.True(closed > 0, "the broker should have closed the connection of a message it did not acknowledge");
        Assert.True(acknowledged.Count > 10, $"only {acknowledged.Count} readings acknowledged");
        var last = acknowledged.Max();
        await Eventually.WaitForAsync(
            () => app.ScalarAsync("select count(*) from calibrated_temperature where sensor_id = 'kf-1'"),
            n => n >= acknowledged.Count, TimeSpan.FromSeconds(120), $"{acknowledged.Count} acknowledged readings calibrated");
        var times = string.Join(",", acknowledged.Select(i => $"'{At.AddSeconds(i):O}'::timestamptz"));
        Assert.Equal(0, await app.ScalarAsync($"""
            select count(*) from unnest(array[{times}]) as a(t)
             where not exists (select 1 from raw_data r where r.sensor_id = 'kf-1' and r.recorded_at = a.t)
            """));
        // Stored once each: every reading up to the last acknowledged one, no duplicates.
        Assert.Equal(last + 1, await app.ScalarAsync("select count(*) from raw_data where sensor_id = 'kf-1'"));
        Assert.Equal(last + 1, await app.ScalarAsync("select count(distinct recorded_at) from raw_data where sensor_id = 'kf-1'"));
    }

    [Fact]
    public async Task Mosquitto_bridge_killed_between_receiving_and_Kafkas_acknowledgement_gets_the_messages_again_and_stores_them_once()
    {
        using var kafka = MockKafkaCluster.Start(brokers: 1);
        var settings = await SettingsAsync(kafka, "bridgekill", 60_000);
        await using var broker = await MosquittoBroker.StartAsync(settings["DeviceCaDirectory"]!);
        settings["MqttBroker"] = $"127.0.0.1:{broker.Port}";
        settings["MqttBridgeGroup"] = "bridge-" + Guid.NewGuid().ToString("N")[..6];
        var app = await PipelineApp.StartAsync(settings);
        try
        {
            var bridge = app.Services.GetRequiredService<MqttBridge>();
            await Eventually.WaitForAsync(() => Task.FromResult(bridge.IsSubscribed), s => s, TimeSpan.FromSeconds(30), "the bridge subscribed to Mosquitto");
            var device = await EnrolAsync(app, "kb-1");

            // Kafka stops answering; Mosquitto takes the device's messages (its PUBACK means "queued
            // for the bridge's persistent session") and hands them to the bridge, which waits on Kafka.
            kafka.SetBrokerDown(1);
            using (var client = await ConnectAsync(device))
            {
                for (var i = 0; i < 5; i++)
                {
                    Assert.True((await PublishAsync(client, device.Topic, Reading("kb-1", At.AddSeconds(i), 20 + i))).IsSuccess);
                }
            }

            await Task.Delay(2000);
            Assert.Equal(0, await app.ScalarAsync("select count(*) from raw_data where sensor_id = 'kb-1'"));
        }
        finally
        {
            // Killed mid-produce: nothing was acknowledged to Mosquitto.
            await app.DisposeAsync();
        }

        kafka.SetBrokerUp(1);
        await using var again = await PipelineApp.StartAsync(settings);
        await Eventually.WaitForAsync(
            () => again.ScalarAsync("select count(*) from calibrated_temperature where sensor_id = 'kb-1'"),
            n => n == 5, TimeSpan.FromSeconds(90), "the 5 readings delivered again to the restarted bridge, calibrated");
        await Task.Delay(2000);
        Assert.Equal(5, await again.ScalarAsync("select count(*) from raw_data where sensor_id = 'kb-1'"));
        Assert.Equal(5, await again.ScalarAsync("select count(*) from calibrated_temperature where sensor_id = 'kb-1'"));
    }
}
