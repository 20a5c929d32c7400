namespace SensorPipeline.Runtime.Hosting;

/// <summary>A value could not be bound to a function parameter (for HTTP: the request is bad).</summary>
public sealed class FunctionBindingException(string message, Exception? inner = null) : Exception(message, inner);
