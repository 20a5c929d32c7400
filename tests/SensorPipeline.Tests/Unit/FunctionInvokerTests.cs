using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using SensorPipeline.Runtime.Hosting;

namespace SensorPipeline.Tests.Unit;

public sealed class FunctionInvokerTests
{
    public sealed class Greeter
    {
        public string Greet(string name) => "hello " + name;
    }

    public sealed class ScopedThing : IDisposable
    {
        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }

    public sealed class UnitTestFailure(string message) : Exception(message);

    /// <summary>
    /// Functions to invoke. No <see cref="FunctionAttribute"/>: the descriptors are built by hand, so
    /// discovery over the test assembly does not see these.
    /// </summary>
    public sealed class Functions(Greeter greeter)
    {
        public string Bind(
            [TimerTrigger("0 * * * * *")] string trigger,
            CancellationToken cancellationToken,
            FunctionContext context,
            string id,
            ScopedThing scoped) =>
            $"{greeter.Greet(trigger)}|{cancellationToken.CanBeCanceled}|{context.FunctionDefinition.Name}|{id}|{scoped.Disposed}";

        public static CancellationToken Token([TimerTrigger("0 * * * * *")] string trigger, CancellationToken cancellationToken) => cancellationToken;

        public static FunctionContext Context([TimerTrigger("0 * * * * *")] string trigger, FunctionContext context) => context;

        public static ScopedThing Scoped([TimerTrigger("0 * * * * *")] string trigger, ScopedThing scoped) => scoped;

        public static async Task<int> AsyncResult([TimerTrigger("0 * * * * *")] int trigger)
        {
            await Task.Yield();
            return trigger * 2;
        }

        public static async ValueTask<int> ValueTaskResult([TimerTrigger("0 * * * * *")] int trigger)
        {
            await Task.Yield();
            return trigger + 1;
        }

        public static ValueTask<int> ValueTaskThrows([TimerTrigger("0 * * * * *")] int trigger) =>
            ValueTask.FromException<int>(new UnitTestFailure("value task failed " + trigger));

        public static int RouteNumber([TimerTrigger("0 * * * * *")] string trigger, int id) => id * 10;

        public static async Task AsyncNoResult([TimerTrigger("0 * * * * *")] int trigger) => await Task.Yield();

        public static Task<string> CompletedResult([TimerTrigger("0 * * * * *")] string trigger) => Task.FromResult(trigger + "!");

        public static void Void([TimerTrigger("0 * * * * *")] string trigger)
        {
        }

        public static string WithDefault([TimerTrigger("0 * * * * *")] string trigger, string missing = "default") => missing;

        public static string Unbindable([TimerTrigger("0 * * * * *")] string trigger, IComparable notRegistered) => trigger;

        public static void ThrowsSynchronously([TimerTrigger("0 * * * * *")] string trigger) => throw new UnitTestFailure("sync " + trigger);

        public static async Task ThrowsAsynchronously([TimerTrigger("0 * * * * *")] string trigger)
        {
            await Task.Yield();
            throw new UnitTestFailure("async " + trigger);
        }
    }

    private static FunctionDescriptor Describe(string method)
    {
        var info = typeof(Functions).GetMethod(method, BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)!;
        var trigger = info.GetParameters()[0];
        return new FunctionDescriptor("UnitTest" + method, typeof(Functions), info, trigger, trigger.GetCustomAttribute<TriggerBindingAttribute>()!);
    }

    private static FunctionInvoker Invoker()
    {
        var services = new ServiceCollection()
            .AddSingleton<Greeter>()
            .AddScoped<ScopedThing>()
            .BuildServiceProvider();
        return new FunctionInvoker(
            services.GetRequiredService<IServiceScopeFactory>(),
            services,
            Microsoft.Extensions.Options.Options.Create(new SensorPipeline.Runtime.Kafka.FunctionsSerializerOptions()));
    }

    [Fact]
    public async Task InvokeAsync_binds_trigger_token_context_named_values_and_services()
    {
        using var cancellation = new CancellationTokenSource();

        var result = await Invoker().InvokeAsync(Describe(nameof(Functions.Bind)), new InvocationInput("world", new Dictionary<string, object?> { ["id"] = "sensor-7" }), cancellation.Token);

        Assert.Equal("hello world|True|UnitTestBind|sensor-7|False", result);
    }

    [Fact]
    public async Task InvokeAsync_passes_the_callers_cancellation_token()
    {
        using var cancellation = new CancellationTokenSource();

        var result = await Invoker().InvokeAsync(Describe(nameof(Functions.Token)), new InvocationInput("x", null), cancellation.Token);

        Assert.Equal(cancellation.Token, Assert.IsType<CancellationToken>(result));
    }

    [Fact]
    public async Task InvokeAsync_gives_each_invocation_its_own_context()
    {
        var invoker = Invoker();
        var function = Describe(nameof(Functions.Context));

        var first = Assert.IsType<PortableFunctionContext>(await invoker.InvokeAsync(function, new InvocationInput("x", null), CancellationToken.None));
        var second = Assert.IsType<PortableFunctionContext>(await invoker.InvokeAsync(function, new InvocationInput("x", null), CancellationToken.None));

        Assert.Equal("UnitTestContext", first.FunctionDefinition.Name);
        Assert.Equal("UnitTestContext", first.FunctionId);
        Assert.EndsWith("FunctionInvokerTests+Functions.Context", first.FunctionDefinition.EntryPoint, StringComparison.Ordinal);
        Assert.Equal(["trigger", "context"], first.FunctionDefinition.Parameters.Select(p => p.Name));
        Assert.Equal("timerTrigger", first.FunctionDefinition.InputBindings["trigger"].Type);
        Assert.True(Guid.TryParse(first.InvocationId, out _));
        Assert.NotEqual(first.InvocationId, second.InvocationId);
        Assert.Empty(first.BindingContext.BindingData);
        Assert.Equal(0, first.RetryContext.RetryCount);
        first.Items["k"] = "v";
        Assert.Empty(second.Items);
    }

    [Fact]
    public async Task InvokeAsync_context_carries_binding_data_retry_count_and_trace_parent()
    {
        using var source = new System.Diagnostics.ActivitySource("unit-test-invoker");
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name == "unit-test-invoker",
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllData,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        using var activity = source.StartActivity("invoke");
        var built = 0;

        var context = Assert.IsType<PortableFunctionContext>(await Invoker().InvokeAsync(
            Describe(nameof(Functions.Context)),
            new InvocationInput("x", BindingData: () => { built++; return new Dictionary<string, object?> { ["Offset"] = 5L }; }, RetryCount: 2, MaxRetryCount: 5),
            CancellationToken.None));

        Assert.Equal(0, built);
        Assert.Equal(5L, context.BindingContext.BindingData["Offset"]);
        Assert.Equal(5L, context.BindingContext.BindingData["Offset"]);
        Assert.Equal(1, built);
        Assert.Equal(2, context.RetryContext.RetryCount);
        Assert.Equal(5, context.RetryContext.MaxRetryCount);
        Assert.Equal(activity!.Id, context.TraceContext.TraceParent);
    }

    [Fact]
    public async Task InvokeAsync_creates_a_scope_per_invocation_and_disposes_it()
    {
        var invoker = Invoker();
        var function = Describe(nameof(Functions.Scoped));

        var first = Assert.IsType<ScopedThing>(await invoker.InvokeAsync(function, new InvocationInput("x", null), CancellationToken.None));
        var second = Assert.IsType<ScopedThing>(await invoker.InvokeAsync(function, new InvocationInput("x", null), CancellationToken.None));

        Assert.NotSame(first, second);
        Assert.True(first.Disposed);
        Assert.True(second.Disposed);
    }

    [Fact]
    public async Task InvokeAsync_awaits_a_task_and_returns_its_result()
    {
        Assert.Equal(42, await Invoker().InvokeAsync(Describe(nameof(Functions.AsyncResult)), new InvocationInput(21, null), CancellationToken.None));
        Assert.Equal("done!", await Invoker().InvokeAsync(Describe(nameof(Functions.CompletedResult)), new InvocationInput("done", null), CancellationToken.None));
    }

    [Fact]
    public async Task InvokeAsync_returns_null_for_a_plain_task_or_void()
    {
        Assert.Null(await Invoker().InvokeAsync(Describe(nameof(Functions.AsyncNoResult)), new InvocationInput(1, null), CancellationToken.None));
        Assert.Null(await Invoker().InvokeAsync(Describe(nameof(Functions.Void)), new InvocationInput("x", null), CancellationToken.None));
    }

    [Fact]
    public async Task InvokeAsync_uses_a_parameters_default_when_nothing_binds_it()
    {
        Assert.Equal("default", await Invoker().InvokeAsync(Describe(nameof(Functions.WithDefault)), new InvocationInput("x", null), CancellationToken.None));
    }

    [Fact]
    public async Task InvokeAsync_unbindable_parameter_throws_naming_function_and_parameter()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Invoker().InvokeAsync(Describe(nameof(Functions.Unbindable)), new InvocationInput("x", null), CancellationToken.None));

        Assert.Contains("'UnitTestUnbindable'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'notRegistered'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvokeAsync_rethrows_a_synchronous_exception_of_the_function_unwrapped()
    {
        var e = await Assert.ThrowsAsync<UnitTestFailure>(() =>
            Invoker().InvokeAsync(Describe(nameof(Functions.ThrowsSynchronously)), new InvocationInput("boom", null), CancellationToken.None));

        Assert.Equal("sync boom", e.Message);
    }

    [Fact]
    public async Task InvokeAsync_rethrows_an_asynchronous_exception_of_the_function_unwrapped()
    {
        var e = await Assert.ThrowsAsync<UnitTestFailure>(() =>
            Invoker().InvokeAsync(Describe(nameof(Functions.ThrowsAsynchronously)), new InvocationInput("boom", null), CancellationToken.None));

        Assert.Equal("async boom", e.Message);
    }

    [Fact]
    public async Task Invoke_awaits_a_generic_ValueTask_and_returns_its_result_or_exception()
    {
        Assert.Equal(8, await Invoker().InvokeAsync(Describe(nameof(Functions.ValueTaskResult)), new InvocationInput(7, null), CancellationToken.None));
        var failure = await Assert.ThrowsAsync<UnitTestFailure>(() => Invoker().InvokeAsync(Describe(nameof(Functions.ValueTaskThrows)), new InvocationInput(3, null), CancellationToken.None));
        Assert.Equal("value task failed 3", failure.Message);
    }

    [Fact]
    public async Task Invoke_converts_named_string_values_to_the_parameter_type_and_rejects_bad_ones()
    {
        Assert.Equal(70, await Invoker().InvokeAsync(Describe(nameof(Functions.RouteNumber)), new InvocationInput("x", new Dictionary<string, object?> { ["id"] = "7" }), CancellationToken.None));
        var error = await Assert.ThrowsAsync<FunctionBindingException>(() =>
            Invoker().InvokeAsync(Describe(nameof(Functions.RouteNumber)), new InvocationInput("x", new Dictionary<string, object?> { ["id"] = "seven" }), CancellationToken.None));
        Assert.Contains("'seven' is not a valid Int32 for parameter 'id'", error.Message, StringComparison.Ordinal);
    }
}
