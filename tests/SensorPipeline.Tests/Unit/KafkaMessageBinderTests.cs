using System.Reflection;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using SensorPipeline.Runtime.Hosting;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Tests.Unit;

public sealed class KafkaMessageBinderTests
{
    public sealed record UnitTestReading(string SensorId, double Value);

    /// <summary>Trigger signatures. No <see cref="FunctionAttribute"/>, so discovery ignores them.</summary>
    public static class Signatures
    {
        public static void Batch([KafkaTrigger("b", "t", IsBatched = true)] IReadOnlyList<UnitTestReading> readings)
        {
        }

        public static void ArrayBatch([KafkaTrigger("b", "t", IsBatched = true)] string[] messages)
        {
        }

        public static void PocoArrayBatch([KafkaTrigger("b", "t", IsBatched = true)] UnitTestReading[] readings)
        {
        }

        public static void ListBatch([KafkaTrigger("b", "t", IsBatched = true)] List<int> values)
        {
        }

        public static void Single([KafkaTrigger("b", "t")] UnitTestReading reading)
        {
        }

        public static void Text([KafkaTrigger("b", "t")] string message)
        {
        }

        public static void Bytes([KafkaTrigger("b", "t")] byte[] message)
        {
        }

    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly DateTime SentAt = new(2026, 3, 10, 10, 0, 0, 123, DateTimeKind.Utc);

    private static FunctionDescriptor Describe(string method)
    {
        var info = typeof(Signatures).GetMethod(method)!;
        var trigger = info.GetParameters()[0];
        return new FunctionDescriptor("UnitTest" + method, typeof(Signatures), info, trigger, trigger.GetCustomAttribute<TriggerBindingAttribute>()!);
    }

    private static KafkaMessageBinder Binder(string method)
    {
        var function = Describe(method);
        return new KafkaMessageBinder(function, ((KafkaTriggerAttribute)function.Trigger).IsBatched, Json);
    }

    private static ConsumeResult<byte[], byte[]> Message(string? value, string? key = "sensor-1", Headers? headers = null, Timestamp? timestamp = null) => new()
    {
        Topic = "temperature.raw",
        Partition = 3,
        Offset = 5,
        Message = new Message<byte[], byte[]>
        {
            Key = key is null ? null! : Encoding.UTF8.GetBytes(key),
            Value = value is null ? null! : Encoding.UTF8.GetBytes(value),
            Headers = headers ?? new Headers(),
            Timestamp = timestamp ?? new Timestamp(SentAt),
        },
    };

    [Fact]
    public void Decode_deserializes_json_into_the_parameter_type()
    {
        var decoded = Binder(nameof(Signatures.Single)).Decode(Message("""{"sensorId":"s-1","value":21.5}"""));

        Assert.Equal(new UnitTestReading("s-1", 21.5), decoded);
    }

    [Fact]
    public void Decode_gives_a_string_parameter_the_utf8_text()
    {
        Assert.Equal("grüß {not json", Binder(nameof(Signatures.Text)).Decode(Message("grüß {not json")));
    }

    [Fact]
    public void Decode_gives_a_byte_array_parameter_the_raw_value()
    {
        Assert.Equal("abc"u8.ToArray(), Binder(nameof(Signatures.Bytes)).Decode(Message("abc")));
    }

    [Fact]
    public void BindingData_of_one_message_has_the_official_binding_names()
    {
        var headers = new Headers { { "traceparent", "00-abc-01"u8.ToArray() }, { "empty", null! } };

        var data = KafkaMessageBinder.BindingData([Message("""{"sensorId":"s-1","value":1}""", "key-1", headers)], "group-1", batched: false);

        Assert.Equal("temperature.raw", data["Topic"]);
        Assert.Equal(3, data["Partition"]);
        Assert.Equal(5L, data["Offset"]);
        Assert.Equal(SentAt, data["Timestamp"]);
        Assert.Equal("key-1", data["Key"]);
        Assert.Equal("group-1", data["ConsumerGroup"]);
        var kafkaHeaders = Assert.IsType<KafkaHeader[]>(data["Headers"]);
        Assert.Equal(["traceparent", "empty"], kafkaHeaders.Select(h => h.Key));
        Assert.Equal("00-abc-01"u8.ToArray(), kafkaHeaders[0].Value);
    }

    [Fact]
    public void BindingData_of_a_batch_has_one_array_element_per_message()
    {
        var headers = new Headers { { "traceparent", "00-def-01"u8.ToArray() } };
        var second = Message("""{"sensorId":"s-2","value":2}""", key: null, headers);
        second.Offset = 6;

        var data = KafkaMessageBinder.BindingData([Message("""{"sensorId":"s-1","value":1}"""), second], "group-1", batched: true);

        Assert.Equal([5L, 6L], Assert.IsType<long[]>(data["OffsetArray"]));
        Assert.Equal([3, 3], Assert.IsType<int[]>(data["PartitionArray"]));
        Assert.Equal(new string?[] { "sensor-1", null }, Assert.IsType<string[]>(data["KeyArray"]));
        Assert.Equal(["temperature.raw", "temperature.raw"], Assert.IsType<string[]>(data["TopicArray"]));
        Assert.Equal([SentAt, SentAt], Assert.IsType<DateTime[]>(data["TimestampArray"]));
        Assert.Equal(["group-1", "group-1"], Assert.IsType<string[]>(data["ConsumerGroupArray"]));
        var perMessage = Assert.IsType<KafkaHeader[][]>(data["HeadersArray"]);
        Assert.Empty(perMessage[0]);
        Assert.Equal("traceparent", Assert.Single(perMessage[1]).Key);
    }

    [Theory]
    [InlineData("{\"sensorId\":")]
    [InlineData("not json")]
    [InlineData("")]
    [InlineData("{\"sensorId\":\"s-1\",\"value\":\"hot\"}")]
    public void Decode_throws_on_invalid_json(string value)
    {
        Assert.ThrowsAny<JsonException>(() => Binder(nameof(Signatures.Single)).Decode(Message(value)));
    }

    [Fact]
    public void Decode_throws_on_json_null()
    {
        var e = Assert.Throws<JsonException>(() => Binder(nameof(Signatures.Single)).Decode(Message("null")));

        Assert.Contains(nameof(UnitTestReading), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_of_a_batched_parameter_decodes_one_element()
    {
        var binder = Binder(nameof(Signatures.Batch));

        Assert.True(binder.IsBatched);
        Assert.Equal(new UnitTestReading("s-2", -3), binder.Decode(Message("""{"sensorId":"s-2","value":-3}""")));
    }

    [Fact]
    public void BuildArgument_of_a_batch_is_an_array_assignable_to_the_parameter()
    {
        var binder = Binder(nameof(Signatures.Batch));
        var decoded = new[] { """{"sensorId":"a","value":1}""", """{"sensorId":"b","value":2}""" }
            .Select(v => binder.Decode(Message(v)))
            .ToList();

        var argument = binder.BuildArgument(decoded);

        var readings = Assert.IsType<UnitTestReading[]>(argument);
        Assert.IsAssignableFrom(Describe(nameof(Signatures.Batch)).TriggerParameter.ParameterType, argument);
        Assert.Equal([new UnitTestReading("a", 1), new UnitTestReading("b", 2)], readings);
    }

    [Fact]
    public void BuildArgument_of_a_poco_array_batch_is_that_array()
    {
        var binder = Binder(nameof(Signatures.PocoArrayBatch));

        var argument = binder.BuildArgument([binder.Decode(Message("""{"sensorId":"a","value":1}"""))]);

        var readings = Assert.IsType<UnitTestReading[]>(argument);
        Assert.Equal("a", Assert.Single(readings).SensorId);
    }

    [Fact]
    public void BuildArgument_of_an_array_batch_is_an_array_of_that_type()
    {
        var binder = Binder(nameof(Signatures.ArrayBatch));

        var argument = binder.BuildArgument([binder.Decode(Message("x")), binder.Decode(Message("y"))]);

        Assert.Equal(["x", "y"], Assert.IsType<string[]>(argument));
    }

    [Fact]
    public void BuildArgument_of_a_single_message_is_the_message()
    {
        var binder = Binder(nameof(Signatures.Text));

        Assert.False(binder.IsBatched);
        Assert.Equal("only", binder.BuildArgument([binder.Decode(Message("only"))]));
    }

    [Fact]
    public void Batched_parameter_of_an_unsupported_type_throws_naming_the_function()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Binder(nameof(Signatures.ListBatch)));

        Assert.Contains("'UnitTestListBatch'", e.Message, StringComparison.Ordinal);
    }
}
