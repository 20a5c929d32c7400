using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SensorPipeline.Runtime.Hosting;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>
/// The process's one idempotent producer (acks=all). <see cref="PublishAsync"/> completes only
/// when the broker acknowledged every message, and throws <see cref="PublishFailedException"/>
/// if any was not.
/// </summary>
public sealed partial class KafkaPublisher : IDisposable
{
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly ILogger<KafkaPublisher> _logger;

    public KafkaPublisher(IOptions<KafkaConnectionOptions> connection, IOptions<FunctionsHostOptions> host, ILogger<KafkaPublisher> logger)
    {
        _logger = logger;
        var kafka = host.Value.Extensions.Kafka;
        var config = connection.Value.Apply(new ProducerConfig
        {
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = kafka.LingerMs,
            MessageTimeoutMs = kafka.MessageTimeoutMs,
            CompressionType = Enum.Parse<CompressionType>(kafka.CompressionType, ignoreCase: true),
            BatchNumMessages = 10_000,
            QueueBufferingMaxMessages = 500_000,
            ClientId = "sensorpipeline-producer",
            // Only the error is read from a delivery report: do not marshal key, value, timestamp
            // and headers back from the native message for every one.
            DeliveryReportFields = "status",
            SocketNagleDisable = true,
        });
        _producer = new ProducerBuilder<byte[], byte[]>(config)
            .SetErrorHandler((_, error) => LogProducerError(_logger, error.Code, error.Reason))
            .Build();
    }

    public Task PublishAsync(string topic, OutgoingMessage message, CancellationToken cancellationToken) =>
        PublishAsync(topic, [message], cancellationToken);

    public async Task PublishAsync(string topic, IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
        {
            return;
        }

        var tracker = new DeliveryTracker(messages.Count);
        string? lastKey = null;
        byte[]? lastKeyBytes = null;
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            // Consecutive messages often share a key (a batch of one sensor): encode it once.
            var key = message.RawKey;
            if (key is null && message.Key is not null)
            {
                if (!string.Equals(message.Key, lastKey, StringComparison.Ordinal))
                {
                    lastKey = message.Key;
                    lastKeyBytes = Encoding.UTF8.GetBytes(message.Key);
                }

                key = lastKeyBytes;
            }

            var kafkaMessage = new Message<byte[], byte[]>
            {
                Key = key!,
                Value = WholeArray(message.Value),
            };
            if (message.Headers is { Count: > 0 } headers)
            {
                kafkaMessage.Headers = [];
                foreach (var (name, value) in headers)
                {
                    kafkaMessage.Headers.Add(name, Encoding.UTF8.GetBytes(value));
                }
            }

            while (true)
            {
                try
                {
                    _producer.Produce(topic, kafkaMessage, tracker.OnDelivery);
                    break;
                }
                catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    // The local queue is full: let the background thread drain it.
                    await Task.Delay(5, cancellationToken);
                }
                catch (ProduceException<byte[], byte[]> e)
                {
                    tracker.OnDelivery(new DeliveryReport<byte[], byte[]> { Error = e.Error, Status = PersistenceStatus.NotPersisted });
                    break;
                }
            }
        }

        await tracker.Completion.WaitAsync(cancellationToken);
        if (tracker.Failed > 0)
        {
            throw new PublishFailedException(topic, tracker.Failed, messages.Count, tracker.FirstError!);
        }
    }

    /// <summary>The value's own array when it spans all of one (no copy), else a copy.</summary>
    private static byte[] WholeArray(ReadOnlyMemory<byte> value) =>
        MemoryMarshal.TryGetArray(value, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : value.ToArray();

    /// <summary>Waits until every queued message was delivered or failed.</summary>
    public void Flush(TimeSpan timeout) => _producer.Flush(timeout);

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
    }

    private sealed class DeliveryTracker(int count)
    {
        private int _pending = count;
        private int _failed;
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Completion => _done.Task;
        public int Failed => Volatile.Read(ref _failed);
        public Error? FirstError { get; private set; }

        public void OnDelivery(DeliveryReport<byte[], byte[]> report)
        {
            if (report.Error.IsError)
            {
                if (Interlocked.Increment(ref _failed) == 1)
                {
                    FirstError = report.Error;
                }
            }

            if (Interlocked.Decrement(ref _pending) == 0)
            {
                _done.TrySetResult();
            }
        }
    }

    [LoggerMessage(EventId = 2100, Level = LogLevel.Warning, Message = "Kafka producer error {Code}: {Reason}")]
    private static partial void LogProducerError(ILogger logger, ErrorCode code, string reason);
}
