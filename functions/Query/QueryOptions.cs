using System.ComponentModel.DataAnnotations;

namespace SensorPipeline.Functions.Query;

/// <summary>Limits of the read API; flat setting names, as Azure Functions app settings.</summary>
public sealed class QueryOptions
{
    /// <summary>Widest <c>from</c>–<c>to</c> range a readings or rollups request may ask for.</summary>
    [ConfigurationKeyName("QueryMaxRange")]
    [Range(typeof(TimeSpan), "00:01:00", "36500.00:00:00", ErrorMessage = "QueryMaxRange must be between 1 minute and 100 years.")]
    public TimeSpan QueryMaxRange { get; set; } = TimeSpan.FromDays(366);

    /// <summary>Readings per page when <c>limit</c> is not given.</summary>
    public const int DefaultLimit = 1000;

    /// <summary>Largest <c>limit</c> accepted.</summary>
    public const int MaxLimit = 10_000;
}
