"""Carrier plugins: ``easypost`` (labels and trackers through EasyPost) and ``fleet``
(the merchant's own vans: PDF labels and run sheets; tracking from the driver app)."""
