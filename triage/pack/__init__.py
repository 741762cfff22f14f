"""the rules"""
