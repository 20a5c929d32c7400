using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace SensorPipeline.Runtime.Kafka;

/// <summary>
/// Asks a broker which APIs it supports (an ApiVersions v0 request over a plain TCP connection).
/// Confluent.Kafka does not expose the answer librdkafka gets; with <c>group.protocol=consumer</c>
/// against a broker without ConsumerGroupHeartbeat (any Kafka before 4.0) librdkafka only marks the
/// coordinator dead at debug level and retries forever, so the consumer never gets partitions and
/// says nothing. This probe is how the host knows for certain. It speaks PLAINTEXT only (ApiVersions
/// is allowed before SASL authentication, so SASL_PLAINTEXT works too); over TLS it answers
/// "unknown" and the stall rule of <see cref="ConsumerHealth"/> is what reports the consumer.
/// </summary>
public static class KafkaApiVersionsProbe
{
    public const short ApiVersionsKey = 18;

    /// <summary>The KIP-848 consumer group protocol's heartbeat (Kafka 4.0 and later).</summary>
    public const short ConsumerGroupHeartbeatKey = 68;

    /// <summary>What the first bootstrap server that answered supports, or why none could be asked.</summary>
    public sealed record Answer(string? Broker, IReadOnlyDictionary<short, (short Min, short Max)>? Apis, string? Error)
    {
        public bool Known => Apis is not null;

        /// <summary>True/false when the broker answered; null when it could not be asked.</summary>
        public bool? Supports(short apiKey) => Apis?.ContainsKey(apiKey);
    }

    public static async Task<Answer> ProbeAsync(string bootstrapServers, string? securityProtocol, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bootstrapServers);
        if (securityProtocol is not null && securityProtocol.Contains("ssl", StringComparison.OrdinalIgnoreCase))
        {
            return new Answer(null, null, "not asked: the probe does not speak TLS");
        }

        var errors = new List<string>();
        foreach (var server in bootstrapServers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = server.LastIndexOf(':');
            var scheme = server.IndexOf("://", StringComparison.Ordinal);
            var host = server[(scheme >= 0 ? scheme + 3 : 0)..(colon > 0 ? colon : server.Length)].Trim('[', ']');
            if (colon <= 0 || !int.TryParse(server[(colon + 1)..], out var port))
            {
                errors.Add($"{server}: not host:port");
                continue;
            }

            try
            {
                using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeoutSource.CancelAfter(timeout);
                return new Answer(server, await AskAsync(host, port, timeoutSource.Token), null);
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or InvalidDataException && !cancellationToken.IsCancellationRequested)
            {
                errors.Add($"{server}: {(e is OperationCanceledException ? "no answer within " + timeout.TotalSeconds + " s" : e.Message)}");
            }
        }

        return new Answer(null, null, string.Join("; ", errors));
    }

    private static async Task<IReadOnlyDictionary<short, (short, short)>> AskAsync(string host, int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(host, port, cancellationToken);
        var stream = client.GetStream();

        var clientId = Encoding.UTF8.GetBytes("sensorpipeline-apiversions-probe");
        var request = new byte[4 + 2 + 2 + 4 + 2 + clientId.Length];
        BinaryPrimitives.WriteInt32BigEndian(request, request.Length - 4);
        BinaryPrimitives.WriteInt16BigEndian(request.AsSpan(4), ApiVersionsKey);
        BinaryPrimitives.WriteInt16BigEndian(request.AsSpan(6), 0);
        BinaryPrimitives.WriteInt32BigEndian(request.AsSpan(8), 1);
        BinaryPrimitives.WriteInt16BigEndian(request.AsSpan(12), (short)clientId.Length);
        clientId.CopyTo(request.AsSpan(14));
        await stream.WriteAsync(request, cancellationToken);

        var sizeBuffer = new byte[4];
        await stream.ReadExactlyAsync(sizeBuffer, cancellationToken);
        var size = BinaryPrimitives.ReadInt32BigEndian(sizeBuffer);
        if (size is < 10 or > 1024 * 1024)
        {
            throw new InvalidDataException($"ApiVersions answer of {size} bytes");
        }

        var body = new byte[size];
        await stream.ReadExactlyAsync(body, cancellationToken);
        // correlation id (4), error code (2), [api key, min, max] (int32 count, 6 bytes each)
        var error = BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(4));
        if (error != 0)
        {
            throw new InvalidDataException($"ApiVersions answered error {error}");
        }

        var count = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(6));
        if (count < 0 || 10 + (count * 6) > body.Length)
        {
            throw new InvalidDataException($"ApiVersions answer lists {count} APIs in {size} bytes");
        }

        var apis = new Dictionary<short, (short, short)>(count);
        for (var i = 0; i < count; i++)
        {
            var at = 10 + (i * 6);
            apis[BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(at))] =
                (BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(at + 2)), BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(at + 4)));
        }

        return apis;
    }
}
