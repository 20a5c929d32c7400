namespace SensorPipeline.Runtime;

/// <summary>
/// Thrown by a function when something it depends on (a database, a broker) is unavailable: the
/// runtime then waits and retries without counting attempts, and never dead-letters because of it.
/// </summary>
public sealed class DependencyUnavailableException(string message, Exception? inner = null)
    : Exception(message, inner);
