using System.Diagnostics;
using System.Reflection;
using Confluent.Kafka;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SensorPipeline.Runtime.Hosting;
using SensorPipeline.Runtime.Kafka;
using SensorPipeline.Worker.Extensions.Kafka;

namespace SensorPipeline.Benchmarks;

/// <summary>
/// What one invocation costs in the portable host, apart from the function's own work: the DI
/// scope, the function class, parameter binding and our <see cref="FunctionContext"/>; and what
/// reading a 2,000-message batch's trigger metadata from the context costs when a function does.
/// </summary>
internal static class InvokeScenario
{
    public sealed class Probe
    {
        public static int Bare(string trigger, CancellationToken cancellationToken) => trigger.Length;

        public static int WithContext(string trigger, FunctionContext context, CancellationToken cancellationToken) =>
            trigger.Length + context.InvocationId.Length;

        public static int ReadsMetadata(string trigger, FunctionContext context) =>
            ((KafkaHeader[][])context.BindingContext.BindingData["HeadersArray"]!).Length;
    }

    public static async Task<int> RunAsync()
    {
        var services = new ServiceCollection().BuildServiceProvider();
        var invoker = new FunctionInvoker(services.GetRequiredService<IServiceScopeFactory>(), services, Options.Create(new FunctionsSerializerOptions()));
        var bare = await MeasureAsync(invoker, Describe(nameof(Probe.Bare)), new InvocationInput("reading"), 1_000_000);
        var context = await MeasureAsync(invoker, Describe(nameof(Probe.WithContext)), new InvocationInput("reading"), 1_000_000);
        var batch = Enumerable.Range(0, 2000).Select(i => new ConsumeResult<byte[], byte[]>
        {
            Topic = "temperature.raw",
            Partition = i % 4,
            Offset = i,
            Message = new Message<byte[], byte[]> { Key = "sensor"u8.ToArray(), Value = [], Timestamp = new Timestamp(DateTime.UtcNow), Headers = new Headers() },
        }).ToList();
        var metadata = await MeasureAsync(
            invoker,
            Describe(nameof(Probe.ReadsMetadata)),
            new InvocationInput("batch", BindingData: () => KafkaMessageBinder.BindingData(batch, "persist-raw", batched: true)),
            2_000);
        Console.WriteLine($"invocation, no FunctionContext parameter:      {bare.Ns,10:0} ns  {bare.Bytes,8:0} bytes allocated");
        Console.WriteLine($"invocation with FunctionContext (InvocationId): {context.Ns,10:0} ns  {context.Bytes,8:0} bytes allocated");
        Console.WriteLine($"invocation reading a 2,000-message batch's headers: {metadata.Ns,10:0} ns  {metadata.Bytes,8:0} bytes allocated");
        Console.WriteLine($"RESULT_INVOKE bare_ns={bare.Ns:0} context_ns={context.Ns:0} context_bytes={context.Bytes:0} metadata_ns={metadata.Ns:0}");
        return 0;
    }

    private static FunctionDescriptor Describe(string method)
    {
        var info = typeof(Probe).GetMethod(method, BindingFlags.Public | BindingFlags.Static)!;
        var trigger = info.GetParameters()[0];
        return new FunctionDescriptor(method, typeof(Probe), info, trigger, new TimerTriggerAttribute("0 * * * * *"));
    }

    private static async Task<(double Ns, double Bytes)> MeasureAsync(FunctionInvoker invoker, FunctionDescriptor function, InvocationInput input, int count)
    {
        for (var i = 0; i < count / 10; i++)
        {
            await invoker.InvokeAsync(function, input, CancellationToken.None);
        }

        var bytesBefore = GC.GetAllocatedBytesForCurrentThread();
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            await invoker.InvokeAsync(function, input, CancellationToken.None);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var bytes = GC.GetAllocatedBytesForCurrentThread() - bytesBefore;
        return (elapsed.TotalNanoseconds / count, (double)bytes / count);
    }
}
