using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace SensorPipeline.Runtime.Embedded;

/// <summary>
/// librdkafka's built-in mock cluster, for development and tests only: it speaks the real Kafka
/// protocol on 127.0.0.1 ports, keeps everything in memory, and supports consumer groups, offsets
/// and fault injection. Created through P/Invoke into the same native library Confluent.Kafka
/// loaded.
/// </summary>
public sealed partial class MockKafkaCluster : IDisposable
{
    private const string Library = "librdkafka";
    private IntPtr _client;
    private IntPtr _cluster;

    static MockKafkaCluster() => NativeLibrary.SetDllImportResolver(typeof(MockKafkaCluster).Assembly, Resolve);

    private MockKafkaCluster(IntPtr client, IntPtr cluster, int brokers)
    {
        _client = client;
        _cluster = cluster;
        BrokerCount = brokers;
        BootstrapServers = Marshal.PtrToStringUTF8(rd_kafka_mock_cluster_bootstraps(cluster))
            ?? throw new InvalidOperationException("The mock cluster reported no bootstrap servers.");
    }

    public string BootstrapServers { get; }

    public int BrokerCount { get; }

    /// <summary>Starts a mock cluster with <paramref name="brokers"/> brokers (ids 1..n).</summary>
    public static MockKafkaCluster Start(int brokers = 1)
    {
        // Make Confluent.Kafka load its native library first, so the resolver binds to that file.
        _ = Confluent.Kafka.Library.Version;
        var conf = rd_kafka_conf_new();
        var error = new byte[512];
        Set(conf, "client.id", "sensorpipeline-mock-cluster-holder", error);
        Set(conf, "log_level", "3", error);
        var client = rd_kafka_new(0 /* producer */, conf, error, (UIntPtr)error.Length);
        if (client == IntPtr.Zero)
        {
            throw new InvalidOperationException("rd_kafka_new failed: " + Text(error));
        }

        var cluster = rd_kafka_mock_cluster_new(client, brokers);
        if (cluster == IntPtr.Zero)
        {
            rd_kafka_destroy(client);
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed.");
        }

        return new MockKafkaCluster(client, cluster, brokers);
    }

    /// <summary>Creates a topic (the mock does not implement CreateTopics).</summary>
    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        var code = rd_kafka_mock_topic_create(Cluster, topic, partitions, Math.Min(replicationFactor, BrokerCount));
        if (code != 0)
        {
            throw new InvalidOperationException($"Creating mock topic '{topic}' failed with error {code}.");
        }
    }

    /// <summary>Takes a broker down: its connections close and it refuses new ones.</summary>
    public void SetBrokerDown(int brokerId) => Check(rd_kafka_mock_broker_set_down(Cluster, brokerId), "set_down");

    public void SetBrokerUp(int brokerId) => Check(rd_kafka_mock_broker_set_up(Cluster, brokerId), "set_up");

    /// <summary>
    /// Sets the versions of one API the brokers advertise (ApiVersions) and accept; -1, -1
    /// withdraws it, which is how a broker that lacks the API looks (e.g.
    /// <see cref="ConsumerGroupHeartbeatApiKey"/> before Kafka 4.0).
    /// </summary>
    public void SetApiVersion(short apiKey, short minVersion, short maxVersion)
    {
        var code = rd_kafka_mock_set_apiversion(Cluster, apiKey, minVersion, maxVersion);
        if (code != 0)
        {
            throw new InvalidOperationException($"rd_kafka_mock_set_apiversion({apiKey}) failed with error {code}.");
        }
    }

    /// <summary>The KIP-848 consumer group protocol's API (Kafka 4.0 and later).</summary>
    public const short ConsumerGroupHeartbeatApiKey = 68;

    public void Dispose()
    {
        if (_cluster != IntPtr.Zero)
        {
            rd_kafka_mock_cluster_destroy(_cluster);
            _cluster = IntPtr.Zero;
        }

        if (_client != IntPtr.Zero)
        {
            rd_kafka_destroy(_client);
            _client = IntPtr.Zero;
        }
    }

    private IntPtr Cluster => _cluster != IntPtr.Zero ? _cluster : throw new ObjectDisposedException(nameof(MockKafkaCluster));

    private static void Check(int code, string what)
    {
        if (code != 0)
        {
            throw new InvalidOperationException($"rd_kafka_mock_broker_{what} failed with error {code}.");
        }
    }

    private static void Set(IntPtr conf, string name, string value, byte[] error)
    {
        if (rd_kafka_conf_set(conf, name, value, error, (UIntPtr)error.Length) != 0)
        {
            throw new InvalidOperationException($"rd_kafka_conf_set({name}) failed: {Text(error)}");
        }
    }

    private static string Text(byte[] buffer) => Encoding.UTF8.GetString(buffer, 0, Math.Max(0, Array.IndexOf(buffer, (byte)0)));

    /// <summary>Binds to the librdkafka file Confluent.Kafka loaded (it falls back between builds).</summary>
    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library)
        {
            return IntPtr.Zero;
        }

        if (OperatingSystem.IsLinux() && File.Exists("/proc/self/maps"))
        {
            var loaded = File.ReadLines("/proc/self/maps")
                .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(parts => parts.Length >= 6 && parts[^1].Contains("librdkafka", StringComparison.Ordinal))
                .Select(parts => parts[^1])
                .FirstOrDefault();
            if (loaded is not null && NativeLibrary.TryLoad(loaded, out var handle))
            {
                return handle;
            }
        }

        var native = Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native");
        foreach (var candidate in new[] { "librdkafka.so", "centos8-librdkafka.so", "librdkafka.dylib", "librdkafka.dll" })
        {
            if (NativeLibrary.TryLoad(Path.Combine(native, candidate), out var handle))
            {
                return handle;
            }
        }

        return IntPtr.Zero;
    }

    [LibraryImport(Library)]
    private static partial IntPtr rd_kafka_conf_new();

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_conf_set(IntPtr conf, string name, string value, [Out] byte[] errstr, UIntPtr errstrSize);

    [LibraryImport(Library)]
    private static partial IntPtr rd_kafka_new(int type, IntPtr conf, [Out] byte[] errstr, UIntPtr errstrSize);

    [LibraryImport(Library)]
    private static partial void rd_kafka_destroy(IntPtr rk);

    [LibraryImport(Library)]
    private static partial IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

    [LibraryImport(Library)]
    private static partial void rd_kafka_mock_cluster_destroy(IntPtr cluster);

    [LibraryImport(Library)]
    private static partial IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr cluster);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_mock_topic_create(IntPtr cluster, string topic, int partitions, int replicationFactor);

    [LibraryImport(Library)]
    private static partial int rd_kafka_mock_broker_set_down(IntPtr cluster, int brokerId);

    [LibraryImport(Library)]
    private static partial int rd_kafka_mock_broker_set_up(IntPtr cluster, int brokerId);

    [LibraryImport(Library)]
    private static partial int rd_kafka_mock_set_apiversion(IntPtr cluster, short apiKey, short minVersion, short maxVersion);
}
