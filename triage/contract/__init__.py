"""the report contract"""
