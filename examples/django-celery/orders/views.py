"""Views of the orders app: enqueue work and answer at once."""
from django.http import JsonResponse
from django.views.decorators.http import require_POST

from .tasks import send_confirmation


@require_POST
def confirm_order(request, order_id):
    """Queue the confirmation email of an order; reply 202 with the task id."""
    email = request.POST.get('email', 'customer@example.com')
    result = send_confirmation.delay(order_id, email)
    return JsonResponse({'task_id': result.id}, status=202)
