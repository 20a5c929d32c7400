using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace SensorPipeline.Benchmarks;

/// <summary>
/// Readings accepted but not yet through the pipeline, from Kafka: the lag of the persist-raw
/// group on temperature.raw plus the lag of the calibrate-realtime group on the realtime topic
/// (committed offsets, so up to the auto-commit interval behind). The load generator keeps it
/// under a bound: ingest has no backpressure, and the mock broker silently drops what lies beyond
/// ~5 MiB per partition, so an unbounded flat-out run measures the mock's trimming, not the pipeline.
/// </summary>
internal sealed class BacklogMonitor : IAsyncDisposable
{
    private static readonly (string Topic, string Group)[] Stages =
    [
        ("temperature.raw", "persist-raw"),
        ("temperature.calibration.realtime", "calibrate-realtime"),
    ];

    private readonly IAdminClient _admin;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _backlog;
    private long _max;

    public BacklogMonitor(string bootstrapServers)
    {
        _admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers, ClientId = "sensorpipeline-benchmark" }).Build();
        _loop = RunAsync(_stop.Token);
    }

    /// <summary>The last backlog seen, in readings.</summary>
    public long Backlog => Volatile.Read(ref _backlog);

    /// <summary>The highest backlog seen.</summary>
    public long MaxBacklog => Volatile.Read(ref _max);

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var partitions = Stages.ToDictionary(
            s => s.Topic,
            s => _admin.GetMetadata(s.Topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Select(p => new TopicPartition(s.Topic, p.PartitionId)).ToList());
        var options = new ListOffsetsOptions { RequestTimeout = TimeSpan.FromSeconds(5) };
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                long total = 0;
                foreach (var (topic, group) in Stages)
                {
                    var latest = await _admin.ListOffsetsAsync(
                        partitions[topic].Select(tp => new TopicPartitionOffsetSpec { TopicPartition = tp, OffsetSpec = OffsetSpec.Latest() }), options);
                    var committed = await _admin.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions(group, partitions[topic])]);
                    var done = committed.Single().Partitions.ToDictionary(p => p.TopicPartition, p => p.Offset.Value < 0 ? 0 : p.Offset.Value);
                    total += latest.ResultInfos.Sum(r => Math.Max(0, r.TopicPartitionOffsetError.Offset.Value - done.GetValueOrDefault(r.TopicPartitionOffsetError.TopicPartition)));
                }

                Volatile.Write(ref _backlog, total);
                if (total > _max)
                {
                    Volatile.Write(ref _max, total);
                }
            }
            catch (KafkaException)
            {
                // A transient admin error: keep the last value.
            }

            try
            {
                await Task.Delay(200, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _admin.Dispose();
        _stop.Dispose();
    }
}
