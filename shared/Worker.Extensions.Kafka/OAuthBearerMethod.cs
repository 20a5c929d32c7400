namespace SensorPipeline.Worker.Extensions.Kafka;

/// <summary>How an OAuth bearer token is obtained.</summary>
public enum OAuthBearerMethod
{
    Default,
    Oidc,
}
