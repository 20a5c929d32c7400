using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Runtime.Hosting;

/// <summary>A value could not be bound to a function parameter (for HTTP: the request is bad).</summary>
public sealed class FunctionBindingException(string message, Exception? inner = null) : Exception(message, inner);
