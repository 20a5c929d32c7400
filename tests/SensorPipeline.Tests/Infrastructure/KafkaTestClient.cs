using System.Text;
using Confluent.Kafka;

namespace SensorPipeline.Tests.Infrastructure;

/// <summary>An independent Kafka client for tests: produce raw bytes, read a topic from the start.</summary>
public static class KafkaTestClient
{
    public static async Task ProduceAsync(string bootstrap, string topic, IEnumerable<(string? Key, byte[] Value)> messages)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = bootstrap, Acks = Acks.All }).Build();
        foreach (var (key, value) in messages)
        {
            await producer.ProduceAsync(topic, new Message<byte[], byte[]> { Key = key is null ? null! : Encoding.UTF8.GetBytes(key), Value = value });
        }
    }

    /// <summary>Reads every message of the topic (all partitions, from the beginning) until <paramref name="expected"/> arrived or the timeout.</summary>
    public static List<ConsumeResult<byte[], byte[]>> ReadAll(string bootstrap, string topic, int expected, TimeSpan timeout)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "test-reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            FetchWaitMaxMs = 20,
        }).Build();
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build())
        {
            var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
            consumer.Assign(metadata.Topics[0].Partitions.Select(p => new TopicPartitionOffset(topic, p.PartitionId, Offset.Beginning)));
        }

        var results = new List<ConsumeResult<byte[], byte[]>>();
        var deadline = DateTime.UtcNow + timeout;
        while (results.Count < expected && DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result is { IsPartitionEOF: false })
            {
                results.Add(result);
            }
        }

        return results;
    }

    /// <summary>The offsets a consumer group committed, summed over the topic's partitions.</summary>
    public static long CommittedTotal(string bootstrap, string topic, string group)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = group }).Build();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
        var committed = consumer.Committed(metadata.Topics[0].Partitions.Select(p => new TopicPartition(topic, p.PartitionId)), TimeSpan.FromSeconds(10));
        return committed.Sum(c => c.Offset.Value < 0 ? 0 : c.Offset.Value);
    }

    public static string Header(ConsumeResult<byte[], byte[]> result, string name) =>
        result.Message.Headers is not null && result.Message.Headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : "";
}
