using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Options;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>
/// Reads dead-letter topics and sends their messages back to the topics they came from, once each:
/// what has been replayed is tracked as the committed offset of the consumer group
/// <see cref="ReplayGroup"/>, so a listing shows only letters not replayed yet.
/// </summary>
public sealed class DeadLetterBox(IOptions<KafkaConnectionOptions> connection, KafkaPublisher publisher)
{
    public const string ReplayGroup = "sensorpipeline-deadletter-replay";

    /// <summary>The letters not replayed yet, at most <paramref name="limit"/> per topic.</summary>
    public Task<IReadOnlyList<DeadLetter>> ListAsync(IEnumerable<string> deadLetterTopics, int limit, CancellationToken cancellationToken) =>
        Task.Run(() =>
        {
            using var consumer = Consumer();
            var letters = new List<DeadLetter>();
            foreach (var topic in deadLetterTopics)
            {
                letters.AddRange(Read(consumer, topic, limit, cancellationToken).Select(r => r.Letter));
            }

            return (IReadOnlyList<DeadLetter>)letters;
        }, cancellationToken);

    /// <summary>Publishes every letter not replayed yet back to its original topic; returns how many.</summary>
    public async Task<int> ReplayAsync(IEnumerable<string> deadLetterTopics, CancellationToken cancellationToken)
    {
        using var consumer = Consumer();
        var replayed = 0;
        foreach (var topic in deadLetterTopics)
        {
            var records = await Task.Run(() => Read(consumer, topic, int.MaxValue, cancellationToken), cancellationToken);
            foreach (var group in records.GroupBy(r => r.Letter.OriginalTopic))
            {
                var messages = group.Select(r => new OutgoingMessage(
                    null,
                    r.Result.Message.Value ?? [],
                    DeadLetterHeaders.CopyOriginal(r.Result.Message.Headers),
                    r.Result.Message.Key)).ToList();
                await publisher.PublishAsync(group.Key, messages, cancellationToken);
            }

            // Only after every letter was acknowledged on its original topic.
            var commits = records.GroupBy(r => r.Result.TopicPartition)
                .Select(g => new TopicPartitionOffset(g.Key, g.Max(r => r.Result.Offset.Value) + 1)).ToList();
            if (commits.Count > 0)
            {
                consumer.Commit(commits);
            }

            replayed += records.Count;
        }

        return replayed;
    }

    private IConsumer<byte[], byte[]> Consumer() =>
        new ConsumerBuilder<byte[], byte[]>(connection.Value.Apply(new ConsumerConfig
        {
            GroupId = ReplayGroup,
            EnableAutoCommit = false,
            FetchWaitMaxMs = 20,
        })).Build();

    private static List<(ConsumeResult<byte[], byte[]> Result, DeadLetter Letter)> Read(
        IConsumer<byte[], byte[]> consumer, string topic, int limit, CancellationToken cancellationToken)
    {
        var partitions = new List<TopicPartition>();
        var ends = new Dictionary<TopicPartition, long>();
        using (var admin = new DependentAdminClientBuilder(consumer.Handle).Build())
        {
            var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
            var found = metadata.Topics.SingleOrDefault(t => t.Topic == topic);
            if (found is null || found.Error.IsError)
            {
                return [];
            }

            partitions.AddRange(found.Partitions.Select(p => new TopicPartition(topic, p.PartitionId)));
        }

        var committed = consumer.Committed(partitions, TimeSpan.FromSeconds(10));
        var assignment = new List<TopicPartitionOffset>();
        foreach (var c in committed)
        {
            var w = consumer.QueryWatermarkOffsets(c.TopicPartition, TimeSpan.FromSeconds(10));
            var start = c.Offset.Value >= 0 ? c.Offset.Value : w.Low.Value;
            if (start < w.High.Value)
            {
                ends[c.TopicPartition] = w.High.Value;
                assignment.Add(new TopicPartitionOffset(c.TopicPartition, start));
            }
        }

        var read = new List<(ConsumeResult<byte[], byte[]>, DeadLetter)>();
        if (assignment.Count == 0)
        {
            return read;
        }

        consumer.Assign(assignment);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (ends.Count > 0 && read.Count < limit && DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null || result.IsPartitionEOF)
            {
                continue;
            }

            read.Add((result, ToLetter(result)));
            if (result.Offset.Value + 1 >= ends.GetValueOrDefault(result.TopicPartition))
            {
                ends.Remove(result.TopicPartition);
            }
        }

        consumer.Unassign();
        return read;
    }

    private static DeadLetter ToLetter(ConsumeResult<byte[], byte[]> r)
    {
        string Header(string name) =>
            r.Message.Headers is not null && r.Message.Headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : "";
        var value = Encoding.UTF8.GetString(r.Message.Value ?? []);
        return new DeadLetter(
            r.Topic, r.Partition.Value, r.Offset.Value,
            r.Message.Key is null ? null : Encoding.UTF8.GetString(r.Message.Key),
            value.Length > 4096 ? value[..4096] : value,
            Header(DeadLetterHeaders.Reason), Header(DeadLetterHeaders.Function), Header(DeadLetterHeaders.OriginalTopic),
            Header(DeadLetterHeaders.Attempts), Header(DeadLetterHeaders.DeadLetteredAt));
    }
}
